"""The architecture and tokenizer of a format-space model, drawn from its seed like its formats.

A user's model may be a GPT-2 or a Llama, may or may not put a start token before every text, may have a small or
a large vocabulary, and may or may not carry a chat template; so does each seed's model. Sizes stay small enough
that a build fits in 3 minutes on 2 cores.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from bench.foreign.formats import CHAT_MARKERS

CONTEXT = 512


@dataclass(frozen=True)
class Arch:
    family: str  # "gpt2" or "llama"
    tokenizer: str  # "unigram" or "bpe"
    bos: bool
    vocab: int
    chat_markers: tuple[str, str] | None  # a chat template writes turns between these, or no template
    embd: int
    layers: int
    heads: int
    kv_heads: int
    tied: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def draw_arch(seed: int, *, tiny: bool = False) -> Arch:
    rng = random.Random(f"arch-{seed}")
    family = rng.choice(("gpt2", "llama"))
    heads = 4
    return Arch(family=family, tokenizer=rng.choice(("unigram", "bpe")), bos=rng.random() < 0.5,
                vocab=rng.choice((1500, 2000)) if tiny else rng.choice((2500, 3000, 4000, 5000)),
                chat_markers=rng.choice(CHAT_MARKERS) if rng.random() < 0.5 else None,
                embd=128 if tiny else rng.choice((128, 160, 192)), layers=2 if tiny else rng.choice((2, 3)),
                heads=heads, kv_heads=rng.choice((heads, heads // 2)) if family == "llama" else heads,
                tied=rng.random() < 0.5 if family == "llama" else True)


def make_model(tok: Any, arch: Arch, seed: int) -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    ids = {"eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id,
           "bos_token_id": tok.bos_token_id if arch.bos else tok.eos_token_id}
    if arch.family == "gpt2":
        config = GPT2Config(vocab_size=len(tok), n_positions=CONTEXT, n_embd=arch.embd, n_layer=arch.layers,
                            n_head=arch.heads, n_inner=4 * arch.embd, resid_pdrop=0.0, embd_pdrop=0.0,
                            attn_pdrop=0.0, **ids)
        return GPT2LMHeadModel(config)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=arch.embd, intermediate_size=(8 * arch.embd) // 3 // 16 * 16,
                         num_hidden_layers=arch.layers, num_attention_heads=arch.heads,
                         num_key_value_heads=arch.kv_heads, max_position_embeddings=CONTEXT,
                         tie_word_embeddings=arch.tied, **ids)
    return LlamaForCausalLM(config)
