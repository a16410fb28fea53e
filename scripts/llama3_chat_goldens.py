#!/usr/bin/env python3
"""Llama 3.1/3.2's chat template rendered by Hugging Face transformers, the golden values of
Tests/TokenizerTests/Llama3TokenizerTests.swift's testChatRenderingEqualsTheTemplate.

    python3 scripts/llama3_chat_goldens.py TEMPLATE.jinja OUT.json

TEMPLATE.jinja is the `chat_template` of a Llama 3.1 or 3.2 Instruct tokenizer_config.json (Meta's text, not
committed here). Each conversation is rendered with `apply_chat_template(..., tokenize=False)` and a fixed
`date_string` ("26 Jul 2024", the 3.1 template's own default), so the goldens do not depend on today's date.
OUT.json records the template's sha256 next to the renderings.
"""
import hashlib
import json
import sys

from transformers import PreTrainedTokenizerFast
from tokenizers import Tokenizer, models

template_path, out = sys.argv[1], sys.argv[2]
template = open(template_path, encoding="utf-8").read()

# Rendering needs no vocabulary: an empty tokenizer with Llama 3's special-token names.
tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), bos_token="<|begin_of_text|>",
                              eos_token="<|eot_id|>")
tok.chat_template = template

conversations = [
    ([{"role": "user", "content": "What is your favourite animal?"}], True),
    ([{"role": "user", "content": "What is your favourite animal?"}], False),
    ([{"role": "system", "content": "  You are terse.\n"}, {"role": "user", "content": " Hi! "}], True),
    ([{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Where is Paris?"},
      {"role": "assistant", "content": " Paris est en France. \n"}], False),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b "}, {"role": "user", "content": "c"}], True),
    ([{"role": "user", "content": "Línea 1\n\nLínea 2 — ünïcödé 🙂\t"}], True),
    ([{"role": "system", "content": ""}, {"role": "user", "content": "Empty system text?"}], True),
]
cases = []
for messages, gen in conversations:
    text = tok.apply_chat_template(messages, add_generation_prompt=gen, tokenize=False, date_string="26 Jul 2024")
    cases.append({"messages": messages, "add_generation_prompt": gen, "text": text})

with open(out, "w", encoding="utf-8") as f:
    json.dump({"template_sha256": hashlib.sha256(template.encode()).hexdigest(), "date_string": "26 Jul 2024",
               "cases": cases}, f, ensure_ascii=False, indent=1)
print(f"{len(cases)} renderings -> {out}")
