#!/usr/bin/env python3
"""Writes Tests/Fixtures/llama3/: tiny random Llama 3.1-style models built and run by Hugging Face
`transformers` (PyTorch CPU), an implementation independent of irm, and their logits as golden values.

    make fixtures-llama3        (installs torch from /opt/wheels, transformers and gguf from PyPI, runs this)

Per model <name>/:
  config.json        as transformers 5 saves it (`rope_parameters` holds rope_type, rope_theta and the scaling)
  config_v4.json     the same settings in the older spelling (top-level `rope_theta` + `rope_scaling`)
  model.safetensors  fp32 weights (Hugging Face names and q/k layout)
  model.gguf         the same weights written with the `gguf` package as llama.cpp's converter lays them out
                     (q/k rows permuted to Meta's interleaved pairs, `rope_freqs.weight` = the llama3 divisors)
  tokens.json        the prompt ids
  logits.f32         transformers' logits at every position, [T, vocab] little-endian fp32
  meta.json          sizes, and how far the logits move when the scaling is dropped (so the test can fail)

The prompt is longer than `original_max_position_embeddings`, so positions on both sides of the original context
are checked, and the q/k weights are scaled up so attention is sharp enough for the rotary frequencies to matter.
"""
import json
import os
import sys

import numpy as np
import torch
import gguf
from transformers import LlamaConfig, LlamaForCausalLM

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/llama3"
T = 160

MODELS = {
    # Llama 3.1 8B's scaling (factor 8, low 1, high 4) with a 64-token "original" context; GQA 4/2; untied head.
    "untied": dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                   rope=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=64), seed=3),
    # Llama 3.2 1B/3B's kind: tied embeddings, factor 32; head dim 32 (more pairs in each regime); MHA 2/2.
    "tied": dict(vocab_size=256, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                 num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True,
                 rope=dict(rope_type="llama3", rope_theta=500000.0, factor=32.0, low_freq_factor=1.0,
                           high_freq_factor=4.0, original_max_position_embeddings=48), seed=5),
}


def build(spec, rope):
    cfg = LlamaConfig(vocab_size=spec["vocab_size"], hidden_size=spec["hidden_size"],
                      intermediate_size=spec["intermediate_size"], num_hidden_layers=spec["num_hidden_layers"],
                      num_attention_heads=spec["num_attention_heads"], num_key_value_heads=spec["num_key_value_heads"],
                      tie_word_embeddings=spec["tie_word_embeddings"], max_position_embeddings=512,
                      rms_norm_eps=1e-5, rope_parameters=rope, hidden_act="silu", attention_bias=False,
                      mlp_bias=False, bos_token_id=1, eos_token_id=2, pad_token_id=None)
    cfg._attn_implementation = "eager"
    return LlamaForCausalLM(cfg).float().eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()


def permute(w, n_head):
    """HF q/k rows (halves rotated together) to Meta's interleaved pairs, as convert_hf_to_gguf.py does."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_divisors(rope, head_dim):
    """rope_freqs.weight as llama.cpp's converter computes it for rope_type llama3."""
    base, factor = rope["rope_theta"], rope["factor"]
    lo, hi, old = rope["low_freq_factor"], rope["high_freq_factor"], rope["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    out = []
    for i in range(0, head_dim, 2):
        freq = 1.0 / (base ** (i / head_dim))
        wavelen = 2 * np.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def write_gguf(path, spec, sd, rope):
    nh, nkv, dim = spec["num_attention_heads"], spec["num_key_value_heads"], spec["hidden_size"]
    hd = dim // nh
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(spec["num_hidden_layers"])
    w.add_context_length(512)
    w.add_embedding_length(dim)
    w.add_feed_forward_length(spec["intermediate_size"])
    w.add_head_count(nh)
    w.add_head_count_kv(nkv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(rope["rope_theta"])
    w.add_rope_dimension_count(hd)
    w.add_vocab_size(spec["vocab_size"])
    t = lambda k: sd[k].float().numpy().astype(np.float32)
    w.add_tensor("token_embd.weight", t("model.embed_tokens.weight"))
    w.add_tensor("output_norm.weight", t("model.norm.weight"))
    if not spec["tie_word_embeddings"]:
        w.add_tensor("output.weight", t("lm_head.weight"))
    w.add_tensor("rope_freqs.weight", llama3_divisors(rope, hd))
    for i in range(spec["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", t(p + "input_layernorm.weight"))
        w.add_tensor(f"blk.{i}.attn_q.weight", permute(t(p + "self_attn.q_proj.weight"), nh))
        w.add_tensor(f"blk.{i}.attn_k.weight", permute(t(p + "self_attn.k_proj.weight"), nkv))
        w.add_tensor(f"blk.{i}.attn_v.weight", t(p + "self_attn.v_proj.weight"))
        w.add_tensor(f"blk.{i}.attn_output.weight", t(p + "self_attn.o_proj.weight"))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", t(p + "post_attention_layernorm.weight"))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", t(p + "mlp.gate_proj.weight"))
        w.add_tensor(f"blk.{i}.ffn_up.weight", t(p + "mlp.up_proj.weight"))
        w.add_tensor(f"blk.{i}.ffn_down.weight", t(p + "mlp.down_proj.weight"))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    for name, spec in MODELS.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        torch.manual_seed(spec["seed"])
        rope = spec["rope"]
        model = build(spec, rope)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n.endswith("norm.weight"):
                    p.copy_(1 + 0.1 * torch.randn_like(p))      # gains away from 1, so a missed gain shows
                elif "q_proj" in n or "k_proj" in n:
                    p.mul_(12)                                   # sharp attention: the rotation moves the logits
                elif "embed_tokens" in n or "lm_head" in n:
                    p.mul_(20)
        model.save_pretrained(folder, safe_serialization=True)
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(folder, extra)):
                os.remove(os.path.join(folder, extra))
        saved = json.load(open(os.path.join(folder, "config.json")))
        assert "rope_parameters" in saved and saved["rope_parameters"]["rope_type"] == "llama3", saved
        assert "rope_scaling" not in saved and "rope_theta" not in saved, "not the transformers 5 spelling"

        v4 = {k: v for k, v in saved.items() if k != "rope_parameters"}
        v4["rope_theta"] = rope["rope_theta"]
        v4["rope_scaling"] = {k: v for k, v in rope.items() if k != "rope_theta"}
        json.dump(v4, open(os.path.join(folder, "config_v4.json"), "w"), indent=2, sort_keys=True)

        rng = np.random.default_rng(spec["seed"])
        ids = [int(x) for x in rng.integers(3, spec["vocab_size"], size=T)]
        reloaded = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager").eval()
        logits = logits_of(reloaded, ids)
        assert np.abs(logits - logits_of(model, ids)).max() == 0

        # The same weights without the scaling (plain RoPE at the same θ): how far the logits move.
        plain = build(spec, {"rope_type": "default", "rope_theta": rope["rope_theta"]})
        plain.load_state_dict(model.state_dict())
        moved = float(np.abs(logits - logits_of(plain, ids)).max())
        moved_early = float(np.abs(logits[:8] - logits_of(plain, ids)[:8]).max())
        assert moved > 0.5, f"{name}: dropping the scaling moves the logits only {moved}"

        logits.astype("<f4").tofile(os.path.join(folder, "logits.f32"))
        json.dump(ids, open(os.path.join(folder, "tokens.json"), "w"))
        write_gguf(os.path.join(folder, "model.gguf"), spec, model.state_dict(), rope)
        meta = dict(T=T, vocab=spec["vocab_size"], original_context=rope["original_max_position_embeddings"],
                    max_abs_logit=float(np.abs(logits).max()), moved_without_scaling=moved,
                    moved_without_scaling_first8=moved_early,
                    transformers=__import__("transformers").__version__, torch=torch.__version__)
        json.dump(meta, open(os.path.join(folder, "meta.json"), "w"), indent=2, sort_keys=True)
        print(f"{name}: |logit| <= {meta['max_abs_logit']:.2f}, dropping the scaling moves them by {moved:.3f}")


if __name__ == "__main__":
    main()
