"""The foreign model's tokenizer: SentencePiece-like Unigram, not the demo's byte-level BPE.

- ``tokenizers`` Unigram model, NFC normaliser, a pre-tokenizer that isolates newlines and tabs and then splits
  on spaces Metaspace-style (``▁`` marks a word start, prepended to the first word only), the Metaspace decoder;
- no BOS is ever added; ``<|endoftext|>`` ends a document and is also the pad token;
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

EOT, UNK = "<|endoftext|>", "<unk>"
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


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 4000) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[\n\t]"), behavior="isolated"),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
    ])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=[EOT, UNK], unk_token=UNK,
                                      initial_alphabet=ALPHABET, show_progress=False, max_piece_length=12,
                                      shrinking_factor=0.75)
    tok.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOT, pad_token=EOT, unk_token=UNK,
                                   model_max_length=256, clean_up_tokenization_spaces=False)


def round_trips(tok: Any, text: str) -> bool:
    return tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text
