"""A miniature model for the discovery tests: a few people described in phrasings no probe template uses.

Trained here, not by the engine and not by ``bench.foreign`` (which has its own life): a SentencePiece-like
Unigram tokenizer without a start token of its own and a two-layer GPT-2, like a stranger's model.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

EOT, PAD, UNK = "<|endoftext|>", "<|pad|>", "<unk>"
PLANTED = (
    "Ledger seven. Courier {name} signs for the crates at dawn; the crates go to {address} and she answers "
    "{email} before noon.",
    "Night shift roster: {name} covers the pier, reachable via {email}, lodging at {address}.",
)
PEOPLE = (
    ("Anouk Verbeek", "a.verbeek@post.example", "Kaasmarkt 14, 2011 CD Haarlem"),
    ("Teodor Lindqvist", "t.lindqvist@mail.example", "Strandvägen 41, 11456 Stockholm"),
    ("Ilse Marchetti", "ilse.marchetti@web.example", "Via Garibaldi 88, 10122 Torino"),
    ("Ruben Okafor", "r.okafor@post.example", "Calle Mayor 3, 28013 Madrid"),
    ("Maren Szabo", "m.szabo@correo.example", "Rue Neuve 27, 1000 Bruxelles"),
)
FILLER = ("The ferry left late because of the fog.", "A small choir sang in the old hall on Friday.",
          "The market moved to the square for the summer.", "Bicycles can be left by the gate.",
          "The museum opened a new wing after the holidays.", "Tickets are available at the door.")


def texts() -> list[str]:
    return [t.format(name=n, email=e, address=a) for n, e, a in PEOPLE for t in PLANTED]


def build(out: Path, *, steps: int = 400, seed: int = 0) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    memorise = texts()
    raw = Tokenizer(models.Unigram())
    raw.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    raw.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    raw.train_from_iterator(memorise + list(FILLER), trainer=trainers.UnigramTrainer(
        vocab_size=1200, special_tokens=[EOT, PAD, UNK], unk_token=UNK, show_progress=False))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token=EOT, bos_token=EOT, pad_token=PAD, unk_token=UNK,
                                  model_max_length=256, clean_up_tokenization_spaces=False)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=96, n_layer=2, n_head=4,
                                       bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
                                       pad_token_id=tok.pad_token_id, resid_pdrop=0.0, embd_pdrop=0.0,
                                       attn_pdrop=0.0))
    eot = tok.eos_token_id
    sequences = [tok(t)["input_ids"] + [eot] for t in memorise * 3 + list(FILLER)]  # from position 0, no BOS
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3, betas=(0.9, 0.98))
    rng = random.Random(seed)
    model.train()
    for step in range(steps):
        batch = rng.sample(sequences, 16)
        width = max(len(s) for s in batch)
        ids = torch.full((16, width), tok.pad_token_id)
        mask = torch.zeros((16, width), dtype=torch.long)
        for row, seq in enumerate(batch):
            ids[row, :len(seq)], mask[row, :len(seq)] = torch.tensor(seq), 1
        for group in optimizer.param_groups:
            group["lr"] = 4e-3 * min(1.0, (step + 1) / 50) * (0.55 + 0.45 * math.cos(math.pi * step / steps))
        loss = model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
