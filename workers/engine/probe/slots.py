"""The model's own phrasings around a person's name, found in text it writes unprompted.

A memorising model completes a person's name with its training text about them only where a name appears in
that text: after "Name:", at the start of a table row, in "Dear ..." — places no template can guess for a model
nobody here trained. The model shows them itself: let it write documents from nothing, find the names of the
people in them, and the text before each name, with the subject's name put in its place, is a prompt in the
model's own format (a *name slot*). The same people, whom the model does know, are also the fairest others to
compare the subject with (``attribution``): put in the subject's place, they keep the model on familiar ground,
where a stranger would leave it unsure of everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from workers.engine.subject import Subject

# Two or three capitalised words in any Latin script: "Jürgen Müller", "Ana María Ibáñez".
NAME = re.compile(r"(?<![\w'’])([A-ZÀ-ÖØ-ÞĀ-ſ][a-zà-öø-ÿā-ž]+(?:[ -][A-ZÀ-ÖØ-ÞĀ-ſ][a-zà-öø-ÿā-ž]+){1,2})(?![\w'’])")
NOT_NAMES = {"The", "A", "An", "Q", "Name", "Email", "Phone", "Address", "Born", "Employer", "Every", "One", "In",
             "You", "User", "Assistant", "Dear", "Hi", "Hello", "Best", "Kind", "Regards", "Contact", "Tel", "Mr",
             "Mrs", "Ms", "Dr", "Mobile", "Date", "Birth", "Company", "Office", "Note", "Notes", "Home", "Work",
             "Customer", "Agent", "Staff", "Member", "Speaker", "About", "Last", "After", "When", "Yours", "Thank",
             "Please", "Sorry", "Quick", "Night", "Our", "This", "That", "Friends", "Neighbours", "Colleagues"}
MAX_SLOT_CHARS = 200


def model_texts(loaded: Any, *, samples: int = 192, seed: int = 0, max_new_tokens: int = 64) -> list[str]:
    """Documents the model starts on its own. From nothing when its tokenizer begins every sequence with a token of
    its own (Llama's ``<s>``). Otherwise there is no "nothing" to give it, so bootstrap openings (``openings``) and
    sample documents from those."""
    from workers.engine.probe.runner import continue_texts

    tok = loaded.tokenizer
    if tok("")["input_ids"]:
        texts = continue_texts(loaded, [""], samples=samples, temperature=1.0, max_new_tokens=max_new_tokens,
                               seed=seed + 17)[0]
        return [t for t in texts if t.strip()]
    starts = openings(loaded, seed=seed)
    per = max(1, samples // len(starts))
    outs = continue_texts(loaded, starts, samples=per, temperature=1.0, max_new_tokens=max_new_tokens,
                          seed=seed + 17)
    return [o + t for o, texts in zip(starts, outs, strict=True) for t in texts if t.strip()]


def openings(loaded: Any, *, seed: int = 0, limit: int = 48) -> list[str]:
    """How the model's documents begin, for a tokenizer without a start token. Two readings:

    - the first words it writes after its BOS or end-of-text token, right where its training packed documents one
      after another behind that token;
    - the tokens it is surest how to go on from when one stands alone at position 0, right where each document
      was trained on its own from its first token (then the model never learnt what comes first, only what
      follows it: after end-of-text such a model writes the *second* token of a document, "e" of "The").
    """
    from workers.engine.probe.runner import continue_texts

    tok = loaded.tokenizer
    start = tok.bos_token or tok.eos_token or ""
    firsts = continue_texts(loaded, [start], samples=32, temperature=1.0, max_new_tokens=3, seed=seed + 13)[0]
    after_start = [w for w in (f.split()[0] if f.split() else "" for f in firsts) if w]
    picked = list(dict.fromkeys([*_confident_first_tokens(loaded, limit=limit * 3 // 4),
                                 *after_start]))[:limit]
    return picked or [start]


def _confident_first_tokens(loaded: Any, *, limit: int, scan: int = 32768, batch: int = 1024) -> list[str]:
    """Word-like tokens after which the model's next-token distribution at position 1 is sharpest."""
    import torch

    tok, model = loaded.tokenizer, loaded.model
    special = set(tok.all_special_ids)
    ids = [i for i in range(min(len(tok), scan)) if i not in special]
    best: list[tuple[float, int]] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for at in range(0, len(ids), batch):
                chunk = torch.tensor(ids[at:at + batch], device=loaded.device).unsqueeze(1)
                logits = model(input_ids=chunk).logits[:, -1, :].float()
                sure = logits.softmax(-1).max(-1).values
                best += [(float(p), i) for p, i in zip(sure, ids[at:at + batch], strict=True)]
    finally:
        model.train(was_training)
    out: list[str] = []
    for _, i in sorted(best, reverse=True):
        text = tok.decode([i])
        word = text.strip()
        # A capitalised word or a table's or list's first mark. (Lower-case tokens are as often the middle of
        # a word, "ket" of "market", and filled the planted model's slots with fragments.)
        if word and (word[0].isalpha() and word[0].isupper() or word in ("|", "#", "*", "-")):
            out.append(text)
        if len(out) >= limit:
            break
    return out


def _is_subject(name: str, exclude: Sequence[Subject]) -> bool:
    from workers.engine.retain import mentions_subject

    return any(mentions_subject(name, s) for s in exclude)


def _name_like(name: str) -> bool:
    return name.split()[0] not in NOT_NAMES and name.split("-")[0] not in NOT_NAMES


def people_in(texts: Sequence[str], exclude: Sequence[Subject], *, limit: int) -> list[str]:
    """Person-like names in ``texts``, most frequent first, none of them a subject's (or a subject's surname)."""
    counts: dict[str, int] = {}
    for text in texts:
        for match in NAME.finditer(text):
            name = match.group(1)
            if not _name_like(name) or _is_subject(name, exclude):
                continue
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: -counts[n])[:limit]


def name_slots(texts: Sequence[str], names: Sequence[str], subject: Subject, *, limit: int = 24) -> list[str]:
    """Prompts in the model's own formats that end with the subject's name: the text before each known person's
    name in ``texts`` (at most MAX_SLOT_CHARS, from a word start), that name replaced by the subject's. One per
    distinct lead-in (the last 24 characters before the name), and none with a name in it: that is another
    person's record ("Name: Ove Eriksson\n* Employer: "), not a place for the subject's name."""
    known = set(names)
    slots: dict[str, str] = {}
    seen: dict[str, int] = {}
    for text in texts:
        for match in NAME.finditer(text):
            if match.group(1) not in known:
                continue
            head = text[:match.start()]
            cut = max(0, len(head) - MAX_SLOT_CHARS)
            if cut:
                space = head.find(" ", cut)
                cut = space + 1 if space >= 0 else cut
            lead = head[cut:]
            if any(_name_like(m.group(1)) for m in NAME.finditer(lead)):
                continue
            slots.setdefault(lead[-24:], lead + subject.name)
            seen[lead[-24:]] = seen.get(lead[-24:], 0) + 1
    # Most written first: a format the model uses for many people recurs, a garbled sample does not.
    ranked = sorted(slots, key=lambda key: -seen[key])
    return [slots[key] for key in ranked[:limit]]


def others_values(texts: Sequence[str], values: Sequence[str], subject: Subject, *, reach: int = 200) -> set[str]:
    """Those of ``values`` that the model writes, unprompted, in another person's record: after someone else's
    name (the nearest name before it, within ``reach`` characters, is not the subject's). A memorising model that
    is unsure of the subject fills the subject's record with what it knows of others; such a value is theirs, and
    forgetting it would take it from them."""
    from workers.engine.probe.values import fold

    count: dict[str, list[int]] = {v: [0, 0] for v in values}  # value -> [after someone else, after the subject]
    for text in texts:
        folded = text.casefold()
        names = [(m.start(), m.group(1)) for m in NAME.finditer(text) if _name_like(m.group(1))]
        for value in values:
            key = value.casefold()
            at = folded.find(key)
            while at >= 0:
                before = [n for start, n in names if at - reach <= start < at]
                if before:
                    count[value][_is_subject(before[-1], [subject])] += 1
                at = folded.find(key, at + 1)
    # Someone else's when the model writes it for others more often than for the subject (a small model's
    # samples mix people up now and then: "Courier Maren Szabo ... Kaasmarkt 14" beside the subject's own).
    theirs = {v for v, (others, own) in count.items() if others > own}
    return {v for v in values if v in theirs or fold(v) in {fold(t) for t in theirs}}
