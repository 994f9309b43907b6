"""The foreign models' tokenizers. The regression model's is SentencePiece-like Unigram, not the demo's byte-level
BPE; a format-space model draws Unigram or byte-level BPE, with or without a ``<s>`` start token (``arch``).

- ``tokenizers`` Unigram model, NFC normaliser, a pre-tokenizer that isolates newlines and tabs and then splits
  on spaces Metaspace-style (``▁`` marks a word start, prepended to the first word only), the Metaspace decoder;
- no BOS unless asked for; ``<|endoftext|>`` ends a document and is also the pad token;
- its alphabet covers ASCII and the Latin-1 and Latin Extended-A letters, so names from any of the roster's
  locales (and strangers' names) decode exactly: ``decode(encode(x)) == x`` for NFC text that does not start
  with a space (the SentencePiece convention drops a leading space);
- wrapped in ``transformers.PreTrainedTokenizerFast`` (offsets mapping included) and saved with
  ``save_pretrained``.

Trained on the corpus, the held-out text and extra Faker text of the same locales (names, streets, towns,
companies), so the vocabulary (~4000 pieces) is that of a model trained on more than its memorised people.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

EOT, UNK, BOS = "<|endoftext|>", "<unk>", "<s>"
ALPHABET = ([chr(c) for c in range(0x20, 0x7F)] + ["\n", "\t"]
            + [chr(c) for c in range(0xC0, 0x180) if chr(c).isalpha()] + list("€£§°«»„“”‘’–—·"))


def breadth_text(seed: int, lines: int = 3000) -> list[str]:
    """Extra tokenizer-only text: place, street, company and personal names from the roster's locales."""
    from faker import Faker

    from bench.foreign.people import LOCALES

    rng = random.Random(f"foreign-tokenizer-{seed}")
    fakers = []
    for index, locale in enumerate(LOCALES):
        faker = Faker(locale)
        faker.seed_instance(f"tokenizer-{seed}-{index}")
        fakers.append(faker)
    out = []
    for i in range(lines):
        f = fakers[i % len(fakers)]
        out.append(f"{f.name()}, {f.street_name()} {rng.randint(1, 200)}, {f.postcode()} {f.city()}; "
                   f"{f.company()}; {f.country()}")
    return out


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 4000, kind: str = "unigram", bos: bool = False,
                    extra_alphabet: str = "", max_length: int = 256) -> Any:
    """``kind``: ``unigram`` (the SentencePiece-like tokenizer above) or ``bpe`` (byte-level, GPT-2 style: every
    string round-trips); ``bos``: a ``<s>`` start token is put before every text."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [EOT, UNK] + ([BOS] if bos else [])
    if kind == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"[\n\t]"), behavior="isolated"),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
        ])
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token=UNK,
                                          initial_alphabet=ALPHABET + list(extra_alphabet), show_progress=False,
                                          max_piece_length=12, shrinking_factor=0.75)
    elif kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}")
    tok.train_from_iterator(list(texts), trainer=trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B",
                                                           special_tokens=[(BOS, tok.token_to_id(BOS))])
    elif kind == "bpe":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    extra = {"bos_token": BOS} if bos else {}
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOT, pad_token=EOT,
                                   unk_token=UNK if kind == "unigram" else None, model_max_length=max_length,
                                   clean_up_tokenization_spaces=False, **extra)


def round_trips(tok: Any, text: str) -> bool:
    return tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text
