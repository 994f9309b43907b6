"""Text read as tokens and name-shaped runs: the lexical layer under ``names`` (which finds mentions in the runs
and learns from a model's texts which of their words are not names).

A token is a word of letters with inner apostrophes or hyphens ("O'Brien", "Dupont-Leroy") or an initial ("J.",
"A.-M."), of one kind: capitalised, in capitals, an initial, an abbreviated title, lower case or other. A run is name
words joined by single spaces, with particles only before a family name that ends it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# A word of letters, with inner apostrophes or hyphens ("O'Brien", "Dupont-Leroy"), and an initial's full stop.
_WORD = re.compile(r"(?:[^\W\d_]\.-)+[^\W\d_]\.|[^\W\d_]+(?:['’-][^\W\d_]+)*\.?")  # "A.-M.": one initial
MAX_PARTICLE = 5  # letters of a lower-case word inside a name: "van", "der", "de", "la", "von", "della"
MAX_PARTICLES = 2
MAX_NAME_WORDS = 5  # name words in one mention (particles not counted): "María José de la Cruz Ortega"


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    kind: str  # "cap" (Ann, McDonald, O'Brien), "upper" (BELL), "initial" (J.), "abbrev" (Dr.), "lower", "other"
    closes: bool = False  # a possessive ("Bell's"): the name ends here


def word_kind(word: str) -> str:
    letters = word.rstrip(".")
    if not letters:
        return "other"
    if word.endswith(".") and all(len(p) == 2 and p[0].isupper() for p in word.split("-")):
        return "initial"
    if word.endswith(".") and letters[0].isupper() and len(letters) <= 4:
        return "abbrev"  # "Dr.", "Mrs.", "St.": a title, not a name word
    if letters.isupper() and len(letters) >= 2:
        return "upper"
    if letters[0].isupper() and any(c.islower() for c in letters):
        return "cap"
    if letters.islower():
        return "lower"
    return "other"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _WORD.finditer(text):
        word, end = match.group(), match.end()
        kind = word_kind(word)
        if kind == "abbrev" and (not re.match(r" [^\W\d_]", text[end:end + 2])
                                 or (tokens and tokens[-1].end == match.start() - 1
                                     and tokens[-1].kind in ("cap", "upper", "initial"))):
            kind = word_kind(word[:-1])  # "... wrote to Ann Lee." ends a sentence; "Dr. Ann", "Dott. Luca" are titles
        if kind not in ("initial", "abbrev") and word.endswith("."):
            word, end = word[:-1], end - 1
        closes = kind in ("cap", "upper") and word[-2:] in ("'s", "’s", "'S", "’S") and len(word) > 3
        if closes:
            word, end = word[:-2], end - 2
        tokens.append(Token(match.start(), end, word, kind, closes))
    return tokens


def name_word(token: Token) -> bool:
    return token.kind in ("cap", "upper", "initial")


def runs(text: str, tokens: Sequence[Token], particles: frozenset[str] | None = None,
          suffixes: frozenset[str] = frozenset(), prefixes: frozenset[str] = frozenset()) -> list[list[Token]]:
    """The name-shaped runs of ``text``: name words joined by single spaces, with particles (up to
    ``MAX_PARTICLES`` short lower-case words) only before a one-word family name that ends the name.

    A group of particles is taken where the texts write its words between name words (``particles``; None: any
    word) or where at most one given name precedes it: "Jan van der Berg", "N. dos Fonseca" and "Mx Vanesa de
    Santana" are names, "Ann Bell at Google" is Ann Bell. A word of the format before a name (``prefixes``) does
    not count as a given name; one glued after it (``suffixes``) ends it."""
    runs: list[list[Token]] = []
    for stretch in stretches(text, tokens):
        i = 0
        while i < len(stretch):
            if not name_word(stretch[i]) or stretch[i].text in suffixes:
                i += 1
                continue
            start = i
            while i < len(stretch) and stretch[i].text in prefixes and name_word(stretch[i]):
                i += 1
            j = i
            while j < len(stretch) and name_word(stretch[j]) and stretch[j].text not in suffixes:
                j += 1
                if stretch[j - 1].closes:
                    break
            given = stretch[i:j]
            k = j
            while k < len(stretch) and k - j < MAX_PARTICLES and stretch[k].kind == "lower" \
                    and len(stretch[k].text) <= MAX_PARTICLE and not (given and given[-1].closes):
                k += 1
            family_ends = k + 1 >= len(stretch) or not name_word(stretch[k + 1]) or stretch[k + 1].text in suffixes
            if (given and k > j and k < len(stretch) and stretch[k].kind == "cap"
                    and stretch[k].text not in suffixes and family_ends
                    and all(t.kind in ("cap", "initial") for t in given)
                    and (sum(t.kind == "cap" for t in given) <= 1
                         or (particles is not None and all(t.text in particles for t in stretch[j:k])))):
                j = k + 1
            runs.append(list(stretch[start:j]))
            i = max(j, i + 1)
    return [_from_family_in_capitals(run) for run in runs if run]


def stretches(text: str, tokens: Sequence[Token]) -> list[list[Token]]:
    """Tokens joined by single spaces, split where a word is neither a name word nor short and lower-case."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for index, token in enumerate(tokens):
        fits = name_word(token) or (token.kind == "lower" and len(token.text) <= MAX_PARTICLE)
        joined = index > 0 and text[tokens[index - 1].end:token.start] == " " and not tokens[index - 1].closes
        if not fits or not joined:
            if current:
                out.append(current)
            current = []
        if fits:
            current.append(token)
    if current:
        out.append(current)
    return out


def _from_family_in_capitals(run: list[Token]) -> list[Token]:
    """"May CUNHA-GUERREIRO Luca": a family name in capitals before a given name starts the name."""
    for index in range(1, len(run) - 1):
        if run[index].kind == "upper" and run[index + 1].kind == "cap" and run[index - 1].kind == "cap":
            return run[index:]
    return run
