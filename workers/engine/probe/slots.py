"""The model's own phrasings around a person's name, found in text it writes unprompted.

A memorising model completes a person's name with its training text about them only where a name appears in
that text: after "Name:", at the start of a table row, in "Dear ..." — places no template can guess for a model
nobody here trained. The model shows them itself: let it write documents from nothing, find the names of the
people in them, and the text before each name, with the subject's name put in its place, is a prompt in the
model's own format (a *name slot*). The same people, whom the model does know, are also the fairest others to
compare the subject with (``attribution``): put in the subject's place, they keep the model on familiar ground,
where a stranger would leave it unsure of everything.

A model that memorised a table or a register reproduces its rows in their training order, so a person's row
follows the rows before it, not their name alone: ``record_walk`` lets the model go on after every record it
wrote, which is where the subject's own row turns up; a slot where the model wrote the subject's name itself
comes first (``own_text_slots``), and the rest rank by how much the model expects her name there
(``expected_slots``).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

from workers.engine.probe.names import Mention, NameFinder, is_named, name_key, written_like
from workers.engine.subject import Subject

MAX_SLOT_CHARS = 200


_TEXTS: weakref.WeakKeyDictionary[Any, dict[tuple[int, int, int, int], list[str]]] = weakref.WeakKeyDictionary()


def _weights_version(model: Any) -> int:
    # Every in-place change of a parameter (an optimiser step, a merge) bumps its tensor's version counter.
    return sum(p._version for p in model.parameters())


def model_texts(loaded: Any, *, samples: int = 192, seed: int = 0, max_new_tokens: int = 64) -> list[str]:
    """Documents the model starts on its own. From nothing when its tokenizer begins every sequence with a token of
    its own (Llama's ``<s>``). Otherwise there is no "nothing" to give it, so bootstrap openings (``openings``) and
    sample documents from those.

    Kept per model while its weights are unchanged: discovery and the search for other people's facts read the
    same documents (5.5 s each on the foreign model)."""
    version = _weights_version(loaded.model)
    key = (samples, seed, max_new_tokens, version)
    cached = _TEXTS.setdefault(loaded.model, {})
    if key not in cached:
        for stale in [k for k in cached if k[3] != version]:
            del cached[stale]
        cached[key] = _sample_texts(loaded, samples=samples, seed=seed, max_new_tokens=max_new_tokens)
    return list(cached[key])


def _sample_texts(loaded: Any, *, samples: int, seed: int, max_new_tokens: int) -> list[str]:
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
        # A capitalised word, a lower-case one that starts a word, or a table's or list's first mark. (Other
        # lower-case tokens are as often the middle of a word, "ket" of "market", and filled the planted model's
        # slots with fragments; but a header "name; date of birth; employer" starts with a word, and no document
        # of that table was ever sampled while its first token was left out.)
        if word and (word[0].isalpha() and (word[0].isupper() or _starts_word(tok, i))
                     or word in ("|", "#", "*", "-")):
            out.append(text)
        if len(out) >= limit:
            break
    return out


def _starts_word(tok: Any, token_id: int) -> bool:
    """Whether the token begins a word: its vocabulary entry carries the tokenizer's word-start mark (SentencePiece's
    ``▁``, byte-level BPE's ``Ġ``), or it decodes with a leading space."""
    raw = tok.convert_ids_to_tokens(token_id) or ""
    return raw.startswith(("▁", "Ġ")) or tok.decode([token_id]).startswith(" ")


def _is_subject(name: str, exclude: Sequence[Subject]) -> bool:
    from workers.engine.retain import mentions_subject

    return any(mentions_subject(name, s) for s in exclude)


def _names_subject(mention: Mention, exclude: Sequence[Subject]) -> bool:
    """The mention names one of ``exclude`` in any form ("BERG Jan", "J. van der Berg"), or quotes their name."""
    return any(is_named(mention, s.name) for s in exclude) or _is_subject(mention.text, exclude)


def people_in(texts: Sequence[str], exclude: Sequence[Subject], *, limit: int,
              finder: NameFinder | None = None) -> list[str]:
    """The people the texts name, most often named first, none of them a subject (``exclude``), each as the texts
    write them most often (given name first where they ever do): one person in several forms is one person."""
    finder = finder or NameFinder.learn(texts)
    counts: dict[str, int] = {}
    forms: dict[str, dict[str, int]] = {}
    for text in texts:
        for mention in finder.mentions(text):
            if _names_subject(mention, exclude):
                continue
            counts[mention.key] = counts.get(mention.key, 0) + 1
            written = forms.setdefault(mention.key, {})
            written[mention.text] = written.get(mention.text, 0) + 1 + 1000 * (not mention.family_first)
    ranked = sorted(counts, key=lambda k: -counts[k])[:limit]
    return [max(forms[k], key=lambda f: forms[k][f]) for k in ranked]


def _mentions(text: str, finder: NameFinder) -> list[tuple[int, Mention]]:
    return [(m.start, m) for m in finder.mentions(text)]


AFTER_RECORD_VARIANTS = 3
RECORD_MARKS = "|;\t"  # what separates a record's fields (an address's commas and an e-mail's dots do not)


def name_slots(texts: Sequence[str], names: Sequence[str], subject: Subject, *, limit: int = 24) -> list[str]:
    """Prompts in the model's own formats that end with the subject's name: the text before each known person's
    name in ``texts`` (at most MAX_SLOT_CHARS, from a word start), that name replaced by the subject's, in the same
    form (``names.written_like``: a register's "Bell, Ann" becomes "Scheibe, Alwine"). One per
    distinct lead-in (``_slot_key``), most written first; a lead-in after another person's record up to
    AFTER_RECORD_VARIANTS times, each after another record.

    A name earlier on the name's own line makes it another person's record ("Name: Ove Eriksson, Employer: "), not
    a place for the subject's name. Names on earlier lines are other records before it: the second row of a table,
    the next entry of a list, which the model learnt to continue after the rows it was trained with. A table row
    forgotten after the table's header alone still came back after another person's row (the foreign model's
    dev-half table, 3 of 8 answers), and forgotten after one such row, still after another (2 of 2, greedy)."""
    slots, seen = _candidates(texts, names, subject, variants=AFTER_RECORD_VARIANTS)
    return [lead + own for key in _ranked(slots, seen) for lead, own, _ in slots[key]][:limit]


def expected_slots(loaded: Any, texts: Sequence[str], names: Sequence[str], subject: Subject, *, limit: int = 24,
                   pool: int = 1024) -> list[str]:
    """The name slots of ``texts`` where the model itself most expects the subject's name: ranked by the
    log-probability of the name after the lead-in (one teacher-forced pass over every candidate), at most
    AFTER_RECORD_VARIANTS per slot shape, every record the model wrote before a name a candidate, the shapes it
    wrote the subject's own name in first.

    Which row of a table or entry of a list is the subject's, the model knows better than any count: it learnt the
    rows in their order, and after the row that came before the subject's in training it expects her name. On the
    foreign model her e-mail came back, 4 answers of 4, after the one person's row that preceded hers in a table
    her name alone never led to, while the three rows counted first as slots were others. Formats the model writes
    often but never with the subject rank low, which is what discovery wants: the subject's own text."""
    from workers.engine.probe.likelihood import score_continuations

    slots, seen = _candidates(texts, names, subject, variants=pool)
    flat = [(key, lead, own) for key in _ranked(slots, seen) for lead, own, _ in slots[key]][:pool]
    if not flat:
        return []
    scores = score_continuations(loaded, [(lead, own) for _, lead, own in flat])
    owned = _own_keys(slots)
    ranked = sorted(range(len(flat)), key=lambda i: (flat[i][0] not in owned, -scores[i].logp))
    picked: list[str] = []
    per_key: dict[str, int] = {}
    for i in ranked:
        key, lead, own = flat[i]
        if per_key.get(key, 0) >= AFTER_RECORD_VARIANTS:
            continue
        per_key[key] = per_key.get(key, 0) + 1
        picked.append(lead + own)
        if len(picked) >= limit:
            break
    return picked


def _candidates(texts: Sequence[str], names: Sequence[str], subject: Subject, *, variants: int
                ) -> tuple[dict[str, list[tuple[str, str, bool]]], dict[str, int]]:
    """Slot shape (``_slot_key``) -> its distinct (lead-in, the subject's name in the form the slot wants, whether
    the model wrote her own name there), up to ``variants`` each after another's record (one otherwise), and how
    often each shape was written.

    Where the model wrote the subject's own name, the lead-in is kept whatever the room, first in its shape, and
    the shape ranks before every other (``_ranked``): that is the text the model was trained with before her name."""
    known = {name_key(n) for n in names}
    finder = NameFinder.learn(texts, known=names)
    slots: dict[str, list[tuple[str, str, bool]]] = {}
    seen: dict[str, int] = {}
    for text in texts:
        mentions = _mentions(text, finder)
        for start, mention in mentions:
            lead, slot = _lead_in(text, start, mentions)
            if slot is None:
                continue
            key, after_record = slot
            own_text = _names_subject(mention, [subject])
            # Any name after another's record (a row of a table is a name by its place) or family name first, a
            # known one elsewhere; the subject's wherever the model wrote it.
            if not own_text and mention.key not in known and not after_record and not mention.family_first:
                continue
            # Her name as the model wrote it there; else as the model writes names there ("BERG Jan", "J. Berg").
            own = mention.text if own_text else written_like(subject.name, mention)
            leads = slots.setdefault(key, [])
            room = variants if after_record else 1
            if own_text:  # first in its shape, even where another's name stood at the same lead-in before
                leads[:] = [(lead, own, True), *(e for e in leads if e[:2] != (lead, own))]
            elif len(leads) < room and not any(e[:2] == (lead, own) for e in leads):
                leads.append((lead, own, False))
            seen[key] = seen.get(key, 0) + 1
    return slots, seen


def _own_keys(slots: dict[str, list[tuple[str, str, bool]]]) -> set[str]:
    return {key for key, leads in slots.items() if any(own_text for _, _, own_text in leads)}


def _ranked(slots: dict[str, list[tuple[str, str, bool]]], seen: dict[str, int]) -> list[str]:
    """Slot shapes, those the model wrote the subject's own name in first, then the most written."""
    owned = _own_keys(slots)
    return sorted(slots, key=lambda key: (key not in owned, -seen[key]))


def own_text_slots(texts: Sequence[str], subject: Subject) -> set[str]:
    """The slots (as ``name_slots`` writes them) whose lead-in the model wrote before the subject's own name.

    What the model writes next on that line is the record it was trained with, whoever the counterfactual says
    it depends on: a table it reproduces row after row writes the subject's row from the row before, the same for
    any name put in hers (the foreign model's "name; date of birth; employer" rows, which hold no identifier of
    hers either)."""
    slots, _ = _candidates(texts, (), subject, variants=0)
    return {lead + own for leads in slots.values() for lead, own, own_text in leads if own_text}


def record_walk(loaded: Any, texts: Sequence[str], *, samples: int = 4, seed: int = 0, max_new_tokens: int = 64,
                limit: int = 48) -> list[tuple[str, str]]:
    """(lead-in, continuation): what the model writes next after each record it wrote in ``texts`` (a table row, a
    register line, a list entry), sampled: the records it learnt to follow them. A model that memorised a table
    writes its rows in their training order; the subject's row follows the rows before it there, not her name
    alone. On the foreign model her register row, the only place her address was ever written after her name,
    turned up in 8 of 312 such continuations and in none of 384 unprompted documents."""
    from workers.engine.probe.runner import continue_texts

    finder = NameFinder.learn(texts)
    leads: dict[str, None] = {}
    for text in texts:
        mentions = _mentions(text, finder)
        for start, _ in mentions:
            lead, slot = _lead_in(text, start, mentions)
            if slot is not None and slot[1]:
                leads.setdefault(lead)
    chosen = list(leads)[:limit]
    if not chosen:
        return []
    outs = continue_texts(loaded, chosen, samples=samples, temperature=1.0, max_new_tokens=max_new_tokens,
                          seed=seed + 23)
    return [(lead, c) for lead, completions in zip(chosen, outs, strict=True) for c in completions if c.strip()]


def _lead_in(text: str, start: int, mentions: Sequence[tuple[int, Mention]]
             ) -> tuple[str, tuple[str, bool] | None]:
    """The text before the name at ``start`` (at most MAX_SLOT_CHARS, from a word start) and its ``_slot_key``."""
    head = text[:start]
    cut = max(0, len(head) - MAX_SLOT_CHARS)
    if cut:
        space = head.find(" ", cut)
        cut = space + 1 if space >= 0 else cut
    lead = head[cut:]
    return lead, _slot_key(lead, [at - cut for at, _ in mentions if cut <= at < start])


def _slot_key(lead: str, names_at: Sequence[int]) -> tuple[str, bool] | None:
    """(key, after another's record): what makes two lead-ins the same slot: the last 24 characters of the name's
    line, and, after an earlier record, that record's separators (its shape, not its person: every row after a
    table row is one slot).
    None: not a slot (another person's record on the name's line; or, after a line with a name and no record
    marks, a line that starts with the name itself, which is that person's details: "Yours sincerely,\nAnn
    Bell\nBell & Co"; after a record's line it is the next record: "Bell, Ann | ...\nScheibe, Alwine").
    ``names_at``: where in ``lead`` the names before it start."""
    *earlier, line = lead.split("\n")
    line_start = len(lead) - len(line)
    if any(at >= line_start for at in names_at):
        return None
    if not earlier or not names_at:
        return lead[-24:], False
    shape = "".join(ch for ch in earlier[-1] if ch in RECORD_MARKS)
    if not line.strip() and not shape:
        return None
    return f"{line[-24:]}\x00{shape}", True


def others_values(texts: Sequence[str], values: Sequence[str], subject: Subject, *, reach: int = 200) -> set[str]:
    """Those of ``values`` that the model writes, unprompted, in another person's record: after someone else's
    name (the nearest name before it, within ``reach`` characters, is not the subject's). A memorising model that
    is unsure of the subject fills the subject's record with what it knows of others; such a value is theirs, and
    forgetting it would take it from them."""
    from workers.engine.probe.values import fold

    count: dict[str, list[int]] = {v: [0, 0] for v in values}  # value -> [after someone else, after the subject]
    # Names in every form ("Scheibe, Alwine | <her address>"): else the nearest name before her value is whatever
    # capitalised words came earlier, someone else's.
    finder = NameFinder.learn(texts)
    patterns = {v: re.compile(re.escape(v), re.IGNORECASE) for v in values}
    for text in texts:
        names = [(m.start, m) for m in finder.mentions(text)]
        for value in values:
            # Positions in the text as written: case-folding shifts them ("Heß" -> "hess").
            for match in patterns[value].finditer(text):
                at = match.start()
                before = [n for start, n in names if at - reach <= start < at]
                if before:
                    count[value][_names_subject(before[-1], [subject])] += 1
    # Someone else's when the model writes it for others more often than for the subject (a small model's
    # samples mix people up now and then: "Courier Maren Szabo ... Kaasmarkt 14" beside the subject's own).
    theirs = {v for v, (others, own) in count.items() if others > own}
    return {v for v in values if v in theirs or fold(v) in {fold(t) for t in theirs}}
