"""The engine's verdict reasons in an officer's words.

The engine writes its reasons for the record ("84 confirmed leak(s) on held-out families: elicited-verify/sampled=64,
..."); the evidence page leads with what they mean and keeps the record's text behind a "details" disclosure. A reason
this module does not know is shown as written, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from app.jobs.attacks import ATTACK_LABELS

_SUBJECT = re.compile(r"^subject (\d+): (.*)$", re.DOTALL)


def _leaks(match: re.Match[str]) -> str:
    count, kind = int(match.group(1)), match.group(2)
    answers = "answer" if count == 1 else "answers"
    if kind == "held-out":
        return (f"{count} test {answers} still gave a removed detail back, to kinds of question the model was not "
                "trained to forget (the removal did not generalise).")
    return f"{count} test {answers} still gave a removed detail back, to the kinds of question it was trained on."


def _accuracy(match: re.Match[str]) -> str:
    after, before, ratio = float(match.group(1)), float(match.group(2)), float(match.group(3)) / 100
    kept = after / before if before else 0.0
    return (f"The model now gets {after:.0%} of other people's facts right, down from {before:.0%}: that is "
            f"{kept:.0%} of what it knew, and it must keep at least {ratio:.0%}.")


def _perplexity(match: re.Match[str]) -> str:
    after, before, allowed = float(match.group(1)), float(match.group(2)), match.group(3)
    rise = after / before - 1 if before else 0.0
    return (f"The model became less fluent on ordinary text: its perplexity rose by {rise:.0%} (at most "
            f"+{allowed}% is allowed).")


def _exact(match: re.Match[str]) -> str:
    return (f"Asked {match.group(4)} times, the model would still write a removed detail with a chance of up to "
            f"{match.group(3)} (at most {match.group(5)} is allowed), for {match.group(1)} of {match.group(2)} "
            "questions.")


def _attack(match: re.Match[str]) -> str:
    label = ATTACK_LABELS.get(match.group(1), match.group(1))
    return (f"Under attack ({label}), {match.group(2)} of the answers to some kind of question gave a removed "
            "detail back (at most 2% is allowed).")


def _earlier(match: re.Match[str]) -> str:
    return (f"A person an earlier version had forgotten ({match.group(1)}) is revealed again by this version: "
            f"{match.group(2)} answer(s).")


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^(\d+) confirmed leak\(s\) on (held-out|training) families"), _leaks),
    (re.compile(r"^other people's accuracy fell to ([\d.]+) from ([\d.]+) \(needs >= (\d+)% of before\)"),
     _accuracy),
    (re.compile(r"^held-out perplexity rose to ([\d.]+) from ([\d.]+) \(allowed: \+(\d+)%\)"), _perplexity),
    (re.compile(r"^a forgotten detail is still written in (\d+) of (\d+) prompt\(s\): up to ([\d.]+%) chance within "
                r"(\d+) samples \(.*; allowed ([\d.]+%)\)"), _exact),
    (re.compile(r"^attack (\w+): ([\d.]+%) of answers"), _attack),
    (re.compile(r"^earlier erasure (\S+): (\d+) confirmed leak"), _earlier),
    (re.compile(r"^no held-out prompt family was probed"),
     lambda _: "No kind of question outside training was asked, so it is unknown whether the removal generalises."),
    (re.compile(r"^no confirmed leak and utility within bounds"),
     lambda _: "No removed detail came back, and the model kept what it knows about other people."),
]


def plain_reason(reason: str, references: Mapping[int, str] | None = None) -> str:
    """One reason in plain words; ``references`` names a batch's subjects by their request reference."""
    who = ""
    subject = _SUBJECT.match(reason)
    if subject:
        index, reason = int(subject.group(1)), subject.group(2)
        who = f"Request {(references or {}).get(index) or f'subject {index + 1}'}: "
    for pattern, say in _RULES:
        match = pattern.match(reason)
        if match:
            return who + say(match)
    return who + reason[:1].upper() + reason[1:]
