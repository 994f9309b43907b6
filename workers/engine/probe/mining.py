"""Mining continuations: the subject's values in what the model wrote, and the text before each as a context.

``elicit`` generates; this module reads. A value counts when the model states it *because of* the subject
(``attribution``) and before the continuation drifts into someone else's record (``_conflict_at``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workers.engine.probe import attribution
from workers.engine.probe.contexts import Context
from workers.engine.probe.values import KnownValue, fold
from workers.engine.subject import Subject

if TYPE_CHECKING:
    from workers.engine.probe.elicit import ElicitConfig, Generation

MIN_SUPPORT = 2
# Kinds one person has one value of, mostly: a different value marks a drift to another person.
_CONFLICT_KINDS = ("email", "phone", "iban", "national_id", "dob")
# Kinds whose value is words: one that is (or holds) the subject's name is not a value of theirs. An email may
# hold the name and still be theirs.
_NAMED_KINDS = ("employer", "address", "other")

_WORD_START = re.compile(r"\s\S")


def context_prompt(text: str, start: int, anchors: Sequence[attribution.Anchor], *, max_chars: int) -> str | None:
    """The text before ``start`` as a probe prompt: without trailing space (tokenizers attach it to the next
    word), at most ``max_chars`` cut at a word start, yet always holding an anchor of the subject (a prompt that
    names nobody proves nothing). None when no anchor precedes ``start``."""
    head = text[:start].rstrip()
    before = [a for a in anchors if a.end <= len(head)]
    if not before or not head:
        return None
    cut = max(0, len(head) - max_chars)
    if cut:
        match = _WORD_START.search(head, cut)
        cut = match.start() + 1 if match else cut
    cut = min(cut, before[-1].start)
    return head[cut:]


def guess_attribute(piece: str) -> str:
    """An attribute for a subject-dependent value no recognizer typed (``other`` when nothing fits)."""
    from workers.engine.attributes import normalise_date

    digits = sum(ch.isdigit() for ch in piece)
    if "@" in piece:
        return "email"
    groups = re.findall(r"\d+", piece)
    if (len(groups) >= 2 or re.search(r"[^\W\d_]{3,}", piece)) and re.fullmatch(r"\d{4}-\d{2}-\d{2}",
                                                                              normalise_date(piece)):
        return "dob"
    if digits >= 7 and digits >= 0.6 * len(re.sub(r"\s", "", piece)):
        return "phone"
    if digits and any(ch.isalpha() for ch in piece) and " " in piece:
        return "address"
    return "other"


def _conflict_at(spans: Sequence[Any], known: dict[str, list[str]], begin: int) -> int | None:
    """Where a continuation stops being about the subject: the first identifier of a kind the subject has a
    value for that is not that value (sampling slipped into someone else's record: "Phone: (351) 517-..." after
    the subject's email). Nothing after it is the subject's."""
    from workers.engine.attributes import ATTRIBUTES, values_match

    for span in sorted(spans, key=lambda s: s.start):
        key = span.attribute
        if span.start < begin or span.entity_type.startswith("SUBJECT_") or key not in known \
                or key not in ATTRIBUTES:
            continue
        if not any(values_match(ATTRIBUTES[key], span.text, value) for value in known[key]):
            return span.start
    return None


def _line_end(text: str, begin: int) -> int:
    """The end of the line the text continues at ``begin``."""
    end = text.find("\n", begin)
    return len(text) if end < 0 else end


def _in_own_record(text: str, span: Any, own: Sequence[attribution.Anchor], subject: Subject) -> bool:
    """A typed value on a line that names the subject before it and also holds an identifier the subject gave us
    (and, since only text before a drift is read, none that contradicts one): the subject's own record. The
    counterfactual cannot see such a value when the model wrote it from the record's place rather than from the
    name (a register it reproduces row after row: the row before predicts the next, whoever is named in it), yet
    the record says whose it is."""
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = _line_end(text, span.end)
    on_line = [a for a in own if line_start <= a.start and a.end <= line_end
               and not (a.start < span.end and span.start < a.end)]
    named = any(a.kind in ("name", "surname") and a.end <= span.start for a in on_line)
    return named and any(a.kind in subject.identifiers for a in on_line)


def _resumes_at(text: str, anchors: Sequence[attribution.Anchor], stop: int | None) -> int | None:
    """Where a continuation that drifted into someone else's record at ``stop`` comes back to the subject: the
    start of the line on which the subject's name (or an identifier of theirs) next appears, or the anchor itself
    when that line began before the drift. A list or a register the model writes one row after another may give a
    wrong row for the subject first and their own row next ("Scheibe, Alwine | <another's address> | <another's
    phone>" then "Scheibe, Alwine | <her address> | <her phone>": the foreign model's register, where the true
    address was only ever written in that second row). None: it never comes back."""
    if stop is None:
        return None
    for anchor in anchors:
        if anchor.start <= stop or anchor.kind == "first_name":  # a first name alone is too common to
            continue
        line = text.rfind("\n", 0, anchor.start) + 1
        return line if line > stop else anchor.start
    return None


class Miner:
    """Finds the subject's values in continuations and turns each into a context."""

    def __init__(self, loaded: Any, subject: Subject, analyzer: Any, config: ElicitConfig,
                 people: Sequence[dict[str, str]] | None = None, own_leads: Sequence[str] = ()) -> None:
        self.loaded, self.subject, self.analyzer, self.config = loaded, subject, analyzer, config
        self.people = people
        # Prompts where the model itself wrote the subject's name (``slots.own_text_slots``): what follows on the
        # name's line is the record it was trained with.
        self.own_leads = set(own_leads)
        self.values: list[KnownValue] = []
        self.contexts: dict[str, Context] = {}
        self.context_values: dict[str, tuple[str, str, str]] = {}  # prompt -> (attribute, folded value, basis)
        self.attributed = 0
        self.untyped = 0
        self.in_record = 0  # values tied to the subject by their record (``_in_own_record``), not the counterfactual
        self.corrected = 0  # contexts made by putting the subject's identifier where the model wrote another's
        self.seen: dict[tuple[str, str], list[str]] = {}  # (attribute, folded value) -> decodings it came from
        # Identifier kinds whose value is known (the subject's, then the model's greedy claims): a different value
        # of such a kind marks where a continuation drifted to someone else (``_conflict_at``).
        self.known: dict[str, list[str]] = {k: [v] for k, v in subject.identifiers.items() if k in _CONFLICT_KINDS}

    def supported(self, value: KnownValue) -> bool:
        """A value stated in two continuations, or in a greedy one: the model's own claim, not a sampling slip."""
        decodings = self.seen.get((value.attribute, fold(value.value)), [])
        return len(decodings) >= MIN_SUPPORT or "greedy" in decodings

    def mine(self, generations: Sequence[Generation]) -> list[Context]:
        """New contexts from ``generations`` (already known prompts are skipped); values go to ``self.values``."""
        from workers.engine.pii import find_pii

        texts = [g.text for g in generations]
        anchors = [attribution.find_anchors(t, self.subject) for t in texts]
        scores = attribution.dependence(self.loaded, texts, anchors, count=self.config.strangers,
                                        seed=self.config.seed, people=self.people)
        spans_of: list[list[Any]] = []
        stops: list[int | None] = []
        hits_of: list[list[tuple[int, int, str, str]]] = []
        for gen, text, found, tokens in zip(generations, texts, anchors, scores, strict=True):
            begin = len(gen.prompt)
            spans = [s for s in find_pii(self.analyzer, text) if s.end > begin]
            stop = _conflict_at(spans, self.known, begin)
            spans_of.append(spans)
            stops.append(stop)
            own_line = _line_end(text, begin) if gen.prompt in self.own_leads else None
            hits = self._hits(text, begin, found, tokens, spans, stop, found, own_line=own_line)
            resume = _resumes_at(text, found, stop)
            while resume is not None:  # the subject's record again, after someone else's
                after = _conflict_at(spans, self.known, resume)
                hits += self._hits(text, resume, found, tokens, [s for s in spans if s.end > resume], after, found)
                resume = _resumes_at(text, found, after)
            hits_of.append(sorted(set(hits)))
        self._chained(generations, texts, anchors, spans_of, stops, hits_of)
        fresh: list[Context] = []
        for gen, text, found, spans, stop, hits in zip(generations, texts, anchors, spans_of, stops, hits_of,
                                                       strict=True):
            named_in_prompt = any(x.kind == "name" and x.end <= len(gen.prompt) for x in found)
            for start, end, key, basis in hits:
                if key == "name" and named_in_prompt:
                    continue  # the name again after the name: no identifier -> name evidence
                if basis == "submitted":  # counted, so that another value of that kind must compete with it
                    self.seen.setdefault((key, "\0submitted"), []).append(gen.decoding)
                if basis == "model":
                    self.attributed += 1
                    self.seen.setdefault((key, fold(text[start:end])), []).append(gen.decoding)
                    self.values.append(KnownValue(key, text[start:end], "model"))
                prompt = context_prompt(text, start, found, max_chars=self.config.max_context_chars)
                if prompt is None or prompt in self.contexts:
                    continue
                context = Context(prompt=prompt, origin=gen.origin, attribute=key, group=gen.group,
                                  round=gen.round + 1, value=text[len(text[:start].rstrip()):end])
                self.contexts[prompt] = context
                self.context_values[prompt] = (key, fold(text[start:end]), basis)
                fresh.append(context)
            corrected = self._corrected(gen, text, found, spans, stop)
            if corrected is not None:
                fresh.append(corrected)
        self._learn_kinds()
        return fresh

    def _hits(self, text: str, begin: int, found: Sequence[attribution.Anchor], tokens: Sequence[Any],
              spans: Sequence[Any], stop: int | None, own: Sequence[attribution.Anchor], *,
              own_line: int | None = None) -> list[tuple[int, int, str, str]]:
        """(start, end, attribute, basis) of the subject's values in ``text``: their identifiers (``submitted``)
        and the values the model states because of them (``model``) or in their record, up to where it drifted
        (``stop``). ``found``: what the counterfactual swapped; ``own``: the subject's name and identifiers in the
        text; ``own_line``: where the line ends that continues a name the model itself wrote (``own_leads``)."""
        hits: list[tuple[int, int, str, str]] = []
        for span in spans:
            key = span.attribute
            if key is None or (stop is not None and span.start >= stop):
                continue
            if span.entity_type.startswith("SUBJECT_"):
                hits.append((span.start, span.end, "name" if key == "name" else key, "submitted"))
                continue
            if key in _NAMED_KINDS and any(x.start < span.end and span.start < x.end for x in own):
                continue  # "Chang Group": a value built on the subject's own name says nothing new
            score = attribution.span_score(tokens, span.start, span.end)
            if score is not None and score.attributed:
                hits.append((span.start, span.end, key, "model"))
                continue
            on_own_line = own_line is not None and begin <= span.start and span.end <= own_line
            taken = any(span.start < e and s < span.end for s, e, _, _ in hits)
            if not taken and (on_own_line or _in_own_record(text, span, own, self.subject)):
                hits.append((span.start, span.end, key, "model"))
                self.in_record += 1
        typed = [(a, b) for a, b, _, _ in hits]
        for a, b in attribution.dependent_runs(text, tokens, begin=begin):
            if stop is not None and a >= stop:
                break
            if not any(a < e and s < b for s, e in typed) and not any(x.start < b and a < x.end for x in found):
                key = guess_attribute(text[a:b])
                if self._conflicts(key, text[a:b]):  # an untyped "347 4223053" where the phone is known
                    stop = a
                    break
                hits.append((a, b, key, "model"))
                self.untyped += 1
        return [h for h in hits if stop is None or h[0] < stop]

    def _conflicts(self, key: str, piece: str) -> bool:
        from workers.engine.attributes import ATTRIBUTES, values_match

        return key in self.known and key in ATTRIBUTES and not any(
            values_match(ATTRIBUTES[key], piece, value) for value in self.known[key])

    def _chained(self, generations: Sequence[Generation], texts: list[str],
                 anchors: list[list[attribution.Anchor]], spans_of: list[list[Any]], stops: list[int | None],
                 hits_of: list[list[tuple[int, int, str, str]]]) -> None:
        """Values that follow from a value the model already tied to the subject in the same text. The
        counterfactual keeps that value ("Employer: Börner & Weiß ... Date of birth:"), and from it the model
        writes the birth date for anyone put in the subject's place, so the date seems nobody's. Swapped out as
        well, it shows whose the date is. One more scoring pass, only for texts with such a value and something
        typed after it that is not yet tied to anyone."""
        todo = []
        for i, (hits, spans) in enumerate(zip(hits_of, spans_of, strict=True)):
            tied = [(a, b) for a, b, _, basis in hits if basis == "model"]
            taken = {(a, b) for a, b, _, _ in hits}
            stop = stops[i] if stops[i] is not None else len(texts[i])
            if tied and any(s.attribute and min(a for a, _ in tied) <= s.start < stop
                            and (s.start, s.end) not in taken for s in spans):
                todo.append(i)
        if not todo:
            return
        wider = [sorted([*anchors[i], *(attribution.Anchor(a, b, key) for a, b, key, basis in hits_of[i]
                                       if basis == "model" and not any(x.start < b and a < x.end
                                                                       for x in anchors[i]))],
                        key=lambda x: (x.start, -x.end)) for i in todo]
        rescored = attribution.dependence(self.loaded, [texts[i] for i in todo], wider,
                                          count=self.config.strangers, seed=self.config.seed, people=self.people)
        for i, found, tokens in zip(todo, wider, rescored, strict=True):
            more = self._hits(texts[i], len(generations[i].prompt), found, tokens, spans_of[i], stops[i],
                              anchors[i])
            taken = [(a, b) for a, b, _, _ in hits_of[i]]
            hits_of[i] += [h for h in more if not any(h[0] < e and s < h[1] for s, e in taken)]
            hits_of[i].sort()

    def _corrected(self, gen: Generation, text: str, found: Sequence[attribution.Anchor], spans: Sequence[Any],
                   stop: int | None) -> Context | None:
        """Where the model wrote someone else's identifier in the subject's record ("Contact sheet: <subject>
        - e-mail: <another's email>"), the same text with the subject's own one put there: a prompt in the model's
        own format that holds what its training text held before the next value. Continued next round."""
        if stop is None:
            return None
        conflict = next((s for s in spans if s.start == stop and self.known.get(s.attribute)), None)
        if conflict is None or not any(x.kind == "name" and x.end <= stop for x in found):
            return None
        value = self.known[conflict.attribute][0]  # the subject's own, else the model's greedy claim
        prompt = context_prompt(text[:stop] + value, stop + len(value), found, max_chars=self.config.max_context_chars)
        if prompt is None or prompt in self.contexts:
            return None
        context = Context(prompt=prompt, origin=gen.origin, attribute=None, group=gen.group, round=gen.round + 1)
        self.contexts[prompt] = context
        self.corrected += 1
        return context

    def _learn_kinds(self) -> None:
        """The model's greedy claims about the subject join the conflict check for the next rounds."""
        for (key, folded), decodings in self.seen.items():
            if key in _CONFLICT_KINDS and key not in self.known and "greedy" in decodings:
                self.known[key] = [v.value for v in self.values if v.attribute == key and fold(v.value) == folded][:1]
