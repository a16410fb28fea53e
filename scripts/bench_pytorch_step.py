#!/usr/bin/env python3
# The training step `irm-bench train` times, written in PyTorch (CPU) for a side-by-side figure (make bench-pytorch):
# SmolLM2-135M's shape (30 layers, dim 576, 9 query / 3 KV heads of 64, MLP 1536, vocab 49152, tied LM head,
# RoPE on adjacent pairs, θ 1e5, RMSNorm ε 1e-5) with random frozen fp32 weights, and the reference IRM
# (Linear(576, 1728) → ReLU → 3 × [Linear(1728, 1728) → ReLU] → Linear(1728, 576·30)) reading the residual
# after layer 0's attention and adding its slice (the `.view(B, T, h, L)` layout) after every layer's attention.
# One step = forward with the IRM, cross-entropy on the second half of each sequence, backward (autograd stops
# at layer 0's injection, as irm's stopLayer 0), Adam. "forward" = the model alone under no_grad, with the loss.
# Batch 8×128. Prints one JSON line per figure: best of --reps after one warm-up.
import argparse, json, time
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

L, D, H, KV, HD, FF, V, B, T = 30, 576, 9, 3, 64, 1536, 49152, 8, 128
W = 3 * D
def mat(o, i): return (torch.randn(o, i) * 0.02)
emb = mat(V, D)
layers = [dict(an=torch.ones(D), wq=mat(H * HD, D), wk=mat(KV * HD, D), wv=mat(KV * HD, D), wo=mat(D, H * HD),
               fn=torch.ones(D), wg=mat(FF, D), wu=mat(FF, D), wd=mat(D, FF)) for _ in range(L)]
out_norm = torch.ones(D)
irm = torch.nn.Sequential(torch.nn.Linear(D, W), torch.nn.ReLU(), torch.nn.Linear(W, W), torch.nn.ReLU(),
                          torch.nn.Linear(W, W), torch.nn.ReLU(), torch.nn.Linear(W, W), torch.nn.ReLU(),
                          torch.nn.Linear(W, D * L))
opt = torch.optim.Adam(irm.parameters(), lr=1e-4)

pos = torch.arange(T, dtype=torch.float32)
inv = 1e5 ** (-torch.arange(0, HD, 2, dtype=torch.float32) / HD)
ang = pos[:, None] * inv[None, :]                # [T, HD/2]
cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]

def rope(x):                                     # x [B, T, heads, HD], pairs (2i, 2i+1)
    x2 = x.view(*x.shape[:-1], HD // 2, 2)
    a, b = x2[..., 0], x2[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)

def rmsnorm(x, g): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

def attention(x, w):
    h = rmsnorm(x, w["an"])
    q = rope((h @ w["wq"].T).view(B, T, H, HD)).transpose(1, 2)
    k = rope((h @ w["wk"].T).view(B, T, KV, HD)).transpose(1, 2)
    v = (h @ w["wv"].T).view(B, T, KV, HD).transpose(1, 2)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    return x + o.transpose(1, 2).reshape(B, T, H * HD) @ w["wo"].T

def mlp(x, w):
    h = rmsnorm(x, w["fn"])
    return x + (F.silu(h @ w["wg"].T) * (h @ w["wu"].T)) @ w["wd"].T

tokens = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
mask = torch.zeros(B, T, dtype=torch.bool); mask[:, T // 2:] = True

def loss_of(x):
    hsel = rmsnorm(x, out_norm)[mask]            # the LM head on the rows with a target only, as irm
    return F.cross_entropy(hsel @ emb.T, targets[mask])

def forward(with_irm):
    x = emb[tokens]
    inject = None
    for l, w in enumerate(layers):
        x = attention(x, w)
        if with_irm:
            # Layer slot j of hidden index i at i·L + j; made contiguous per layer once, so that the backward of
            # each slice is not a scatter into the whole [B, T, D·L] output.
            if l == 0: inject = irm(x).view(B, T, D, L).permute(3, 0, 1, 2).contiguous()
            x = x + inject[l]
        x = mlp(x, w)
    return loss_of(x)

def step():
    opt.zero_grad(set_to_none=True)
    forward(True).backward()
    opt.step()

def no_grad_forward():
    with torch.no_grad(): forward(False)

def best(f):
    f()
    ts = []
    for _ in range(a.reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)

for name, f in [("pytorch_forward_s", no_grad_forward), ("pytorch_step_s", step)]:
    print(json.dumps({"name": name, "value": round(best(f), 4), "unit": "s", "threads": a.threads,
                      "torch": torch.__version__, "batch": f"{B}x{T}"}), flush=True)
