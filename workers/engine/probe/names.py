"""People's names in text a model wrote, in whatever form its documents write them, and a name written like another.

One finder for every form a record may hold, with no list of words that are not names: "Jan van der Berg" (lower-case
particles between name words), "Seán O'Brien" and "Fiona McDonald" (apostrophes, inner capitals),
"Anne-Marie Dupont-Leroy" (hyphens), "DUPONT-LEROY Anne-Marie" (family name in capitals), "Berg, Jan" (family
name first, a comma), "J. van der Berg" (initials), "Dr. Ann Bell" (an abbreviated title, left out of the name).
Which capitalised words are not part of a name ("Dear", "Customer", a label) is learnt from the texts themselves
(``prefix_words``): a word that goes in front of several whole names, or of many different words and never after
a name word, is a word of the format. ``written_like`` writes another name in the form of a mention: the subject's
name where the model wrote someone else's, as the model writes names there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

# A word of letters, with inner apostrophes or hyphens ("O'Brien", "Dupont-Leroy"), and an initial's full stop.
_WORD = re.compile(r"(?:[^\W\d_]\.-)+[^\W\d_]\.|[^\W\d_]+(?:['’-][^\W\d_]+)*\.?")  # "A.-M.": one initial
_PUNCTUATION = ",.;:!?()[]{}\"'«»“”‘’|*#"
MAX_PARTICLE = 5  # letters of a lower-case word inside a name: "van", "der", "de", "la", "von", "della"
MAX_PARTICLES = 2
MAX_NAME_WORDS = 5  # name words in one mention (particles not counted): "María José de la Cruz Ortega"
PREFIX_FOLLOWERS = 3  # different words after a word of the format, where no name word ever came first
PREFIX_NAMES = 2  # whole names a word of the format goes in front of


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str
    kind: str  # "cap" (Ann, McDonald, O'Brien), "upper" (BELL), "initial" (J.), "abbrev" (Dr.), "lower", "other"
    closes: bool = False  # a possessive ("Bell's"): the name ends here


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str  # as written: "van der Berg, Jan", "O'BRIEN Seán"
    words: tuple[str, ...]  # the name's words, particles included, comma left out
    family_first: bool  # "Berg, Jan" or a family name in capitals before the given name

    @property
    def key(self) -> str:
        """The person, whatever the form: the name's words, case-folded and sorted, initials left out."""
        return name_key(" ".join(self.words))


def name_key(name: str) -> str:
    """``Mention.key`` of a name as written ("Jan van der Berg", "BERG, Jan" and "Berg Jan" are one key)."""
    return " ".join(sorted(t.text.casefold() for t in _tokens(name) if t.kind in ("cap", "upper")))


def _kind(word: str) -> str:
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


def _tokens(text: str) -> list[Token]:
    tokens = []
    for match in _WORD.finditer(text):
        word, end = match.group(), match.end()
        kind = _kind(word)
        if kind == "abbrev" and (not re.match(r" [^\W\d_]", text[end:end + 2])
                                 or (tokens and tokens[-1].end == match.start() - 1
                                     and tokens[-1].kind in ("cap", "upper", "initial"))):
            kind = _kind(word[:-1])  # "... wrote to Ann Lee." ends a sentence; "Dr. Ann", "Dott. Luca" are titles
        if kind not in ("initial", "abbrev") and word.endswith("."):
            word, end = word[:-1], end - 1
        closes = kind in ("cap", "upper") and word[-2:] in ("'s", "’s", "'S", "’S") and len(word) > 3
        if closes:
            word, end = word[:-2], end - 2
        tokens.append(Token(match.start(), end, word, kind, closes))
    return tokens


def _name_word(token: Token) -> bool:
    return token.kind in ("cap", "upper", "initial")


def _runs(text: str, tokens: Sequence[Token], particles: frozenset[str] | None = None,
          suffixes: frozenset[str] = frozenset(), prefixes: frozenset[str] = frozenset()) -> list[list[Token]]:
    """The name-shaped runs of ``text``: name words joined by single spaces, with particles (up to
    ``MAX_PARTICLES`` short lower-case words) only before a one-word family name that ends the name.

    A group of particles is taken where the texts write its words between name words (``particles``; None: any
    word) or where at most one given name precedes it: "Jan van der Berg", "N. dos Fonseca" and "Mx Vanesa de
    Santana" are names, "Ann Bell at Google" is Ann Bell. A word of the format before a name (``prefixes``) does
    not count as a given name; one glued after it (``suffixes``) ends it."""
    runs: list[list[Token]] = []
    for stretch in _stretches(text, tokens):
        i = 0
        while i < len(stretch):
            if not _name_word(stretch[i]) or stretch[i].text in suffixes:
                i += 1
                continue
            start = i
            while i < len(stretch) and stretch[i].text in prefixes and _name_word(stretch[i]):
                i += 1
            j = i
            while j < len(stretch) and _name_word(stretch[j]) and stretch[j].text not in suffixes:
                j += 1
                if stretch[j - 1].closes:
                    break
            given = stretch[i:j]
            k = j
            while k < len(stretch) and k - j < MAX_PARTICLES and stretch[k].kind == "lower" \
                    and len(stretch[k].text) <= MAX_PARTICLE and not (given and given[-1].closes):
                k += 1
            family_ends = k + 1 >= len(stretch) or not _name_word(stretch[k + 1]) or stretch[k + 1].text in suffixes
            if (given and k > j and k < len(stretch) and stretch[k].kind == "cap"
                    and stretch[k].text not in suffixes and family_ends
                    and all(t.kind in ("cap", "initial") for t in given)
                    and (sum(t.kind == "cap" for t in given) <= 1
                         or (particles is not None and all(t.text in particles for t in stretch[j:k])))):
                j = k + 1
            runs.append(list(stretch[start:j]))
            i = max(j, i + 1)
    return [_from_family_in_capitals(run) for run in runs if run]


def _stretches(text: str, tokens: Sequence[Token]) -> list[list[Token]]:
    """Tokens joined by single spaces, split where a word is neither a name word nor short and lower-case."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for index, token in enumerate(tokens):
        fits = _name_word(token) or (token.kind == "lower" and len(token.text) <= MAX_PARTICLE)
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


def particles(texts: Iterable[str]) -> frozenset[str]:
    """Short lower-case words the texts write at least half the time between two name words: "van", "der", "ter"
    inside names, where "and", "at" or "has" stand between lower-case words at least as often. Only the texts can
    tell: "Ann Bell at Google" read with "at" as a particle is no mention of Ann Bell."""
    between: dict[str, int] = {}
    everywhere: dict[str, int] = {}
    for text in texts:
        tokens = _tokens(text)
        for token in tokens:
            if token.kind == "lower" and len(token.text) <= MAX_PARTICLE:
                everywhere[token.text] = everywhere.get(token.text, 0) + 1
        for stretch in _stretches(text, tokens):
            for index, token in enumerate(stretch):
                if token.kind != "lower" or index == 0 or not _name_word(stretch[index - 1]):
                    continue
                end = index
                while end < len(stretch) and stretch[end].kind == "lower" and end - index < MAX_PARTICLES:
                    end += 1
                if end < len(stretch) and _name_word(stretch[end]):
                    for word in stretch[index:end]:
                        between[word.text] = between.get(word.text, 0) + 1
    return frozenset(w for w, n in between.items() if 2 * n >= everywhere[w])


def _cap_runs(texts: Iterable[str]) -> list[list[str]]:
    """The capitalised words of each name-shaped run of two or more (an initial is never a word of the format)."""
    out = []
    for text in texts:
        for run in _runs(text, _tokens(text)):
            words = [t.text for t in run if t.kind in ("cap", "upper")]
            if len(words) >= 2:
                out.append(words)
    return out


def prefix_words(texts: Iterable[str]) -> frozenset[str]:
    """Capitalised words the texts put in front of names: a greeting, a label, a role, a title ("Dear",
    "Customer", "Mx").

    Learnt from the texts, not listed: such a word comes before several whole names that also stand alone, or
    before many different words while never following a name word, which no first name does in a document that
    names people more than a few times."""
    return _edge_words(_cap_runs(texts))


def suffix_words(texts: Iterable[str]) -> frozenset[str]:
    """Capitalised words the texts glue after names: a label that follows the name ("M. Stanley Correo
    electrónico"). The mirror of ``prefix_words``."""
    texts = list(texts)
    # A family name mostly ends two-word names ("Ronny Svensson", "Petter Svensson"); a label glued after names
    # mostly ends longer runs ("M. Stanley Correo", "L. O'Callaghan Correo").
    short: dict[str, int] = {}
    longer: dict[str, int] = {}
    for text in texts:
        for run in _runs(text, _tokens(text)):
            count = short if sum(_name_word(t) for t in run) == 2 else longer
            count[run[-1].text] = count.get(run[-1].text, 0) + 1
    glued = {w for w, n in longer.items() if n > 2 * short.get(w, 0)}
    return _edge_words([list(reversed(words)) for words in _cap_runs(texts)]) & glued


def _edge_words(runs: list[list[str]]) -> frozenset[str]:
    """Words first in runs (``runs`` read from the edge inwards) before several whole names or many words."""
    whole = {" ".join(w) for w in runs}
    followers: dict[str, set[str]] = {}
    inner: set[str] = set()
    before_names: dict[str, set[str]] = {}
    for words in runs:
        followers.setdefault(words[0], set()).add(words[1])
        inner.update(words[1:])
        rest = " ".join(words[1:])
        if len(words) >= 3 and rest in whole:
            before_names.setdefault(words[0], set()).add(rest)
    return frozenset(
        {w for w, names in before_names.items() if len(names) >= PREFIX_NAMES}
        | {w for w, after in followers.items() if len(after) >= PREFIX_FOLLOWERS and w not in inner})


def common_words(texts: Iterable[str]) -> frozenset[str]:
    """Words the texts also write in lower case (case-folded): "Email Address" in a table's header is made of
    them, a person's name is not."""
    found: set[str] = set()
    for text in texts:
        for chunk in text.split():  # a whole word only: "ann" of "ann@bell.example" is a name written in an address
            word = chunk.strip(_PUNCTUATION)
            if len(word) >= 3 and word.isalpha() and word.islower():
                found.add(word)
    return frozenset(found)


@dataclass(frozen=True)
class NameFinder:
    """``mentions`` with what was learnt from a model's texts: the words it puts in front of names and the words it
    writes in lower case. ``NameFinder()`` knows neither (one text, no corpus to learn from)."""

    prefixes: frozenset[str] = frozenset()
    common: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()  # keys (``name_key``) of names known to be whole names
    suffixes: frozenset[str] = frozenset()
    particles: frozenset[str] | None = None

    @classmethod
    def learn(cls, texts: Sequence[str], *, known: Iterable[str] = ()) -> NameFinder:
        """``known``: names known to be people's (found earlier in the model's texts): a word written in front of
        one of them is no part of it ("Dear Ann Bell" where "Ann Bell" is known)."""
        finder = cls(prefix_words(texts), common_words(texts), frozenset(name_key(n) for n in known),
                     suffix_words(texts), particles(texts))
        # Names the texts write with no particle: "Joy-Noëlle Scheer has Veerlehof" is Joy-Noëlle Scheer where
        # she is named alone elsewhere, whatever a memorised sentence makes of "has".
        plain = {m.key for text in texts for m in finder.mentions(text)
                 if not any(_kind(w) == "lower" for w in m.words)}
        return replace(finder, known=finder.known | plain)

    def mentions(self, text: str) -> list[Mention]:
        found = []
        for mention in mentions(text, prefixes=self.prefixes, suffixes=self.suffixes, particles=self.particles):
            words = [w for w in mention.words if _kind(w) in ("cap", "upper")]
            if self.common and all(w.casefold() in self.common for w in words):
                continue  # "The Email Address"
            found.append(self._before_particles_if_known(self._without_known_prefix(self._without_common_ends(mention))))
        return found

    def _without_common_ends(self, mention: Mention) -> Mention:
        """A capitalised word at either end that the texts write in lower case is not part of the name: a label
        glued to it ("L. O'Callaghan Correo electrónico"), a sentence's first word ("The Ann Bell")."""
        words = list(mention.words)

        def common(word: str, edge: frozenset[str]) -> bool:
            return _kind(word) in ("cap", "upper") and (word.casefold() in self.common or word in edge)

        def named(ws: list[str]) -> int:
            return sum(_kind(w) in ("cap", "upper", "initial") for w in ws)

        while len(words) > 2 and common(words[-1], self.suffixes) and named(words[:-1]) >= 2 and _kind(words[-2]) != "lower":
            words.pop()
        while len(words) > 2 and common(words[0], self.prefixes) and named(words[1:]) >= 2 and _kind(words[1]) != "lower":
            words.pop(0)
        if len(words) == len(mention.words):
            return mention
        start = mention.text.index(words[0]) if words[0] != mention.words[0] else 0
        end = mention.text.rindex(words[-1]) + len(words[-1])
        return Mention(mention.start + start, mention.start + end, mention.text[start:end], tuple(words),
                       mention.family_first)

    def _before_particles_if_known(self, mention: Mention) -> Mention:
        lower = [i for i, w in enumerate(mention.words) if _kind(w) == "lower"]
        if not lower or mention.family_first or mention.key in self.known:
            return mention
        head = mention.words[:lower[0]]
        if sum(_kind(w) in ("cap", "upper") for w in head) < 2 or name_key(" ".join(head)) not in self.known:
            return mention
        end = mention.text.index(head[-1]) + len(head[-1])
        return Mention(mention.start, mention.start + end, mention.text[:end], tuple(head), False)

    def _without_known_prefix(self, mention: Mention) -> Mention:
        if not self.known or mention.key in self.known or len(mention.words) < 3 or mention.family_first:
            return mention
        rest = mention.words[1:]
        if name_key(" ".join(rest)) not in self.known or _kind(rest[0]) == "lower":
            return mention
        start = mention.text.index(rest[0], len(mention.words[0]))
        return Mention(mention.start + start, mention.end, mention.text[start:], rest, False)


def mentions(text: str, *, prefixes: frozenset[str] = frozenset(), suffixes: frozenset[str] = frozenset(),
             particles: frozenset[str] | None = None) -> list[Mention]:
    """Every person-like name in ``text``: at least two name words, or a family name, a comma and a given name.

    Words of the format in front (``prefixes``, an abbreviated title) are left out, so the text before a mention
    is the place a name goes."""
    tokens = _tokens(text)
    found: list[Mention] = []
    runs = _runs(text, tokens, particles, suffixes, prefixes)
    for index, run in enumerate(runs):
        while run and (run[0].text in prefixes or run[0].kind == "lower"):
            run = run[1:]
        while run and run[-1].kind == "lower":
            run = run[:-1]
        words = [t for t in run if _name_word(t)]
        if len(words) >= 2 and any(t.kind in ("cap", "upper") and len(t.text) >= 2 for t in words):
            upper_first = words[0].kind == "upper" and any(t.kind == "cap" for t in words)
            found.append(Mention(run[0].start, run[-1].end, text[run[0].start:run[-1].end],
                                 tuple(t.text for t in run), upper_first))
        elif words and index + 1 < len(runs):
            comma = _comma_form(text, run, runs[index + 1], prefixes)
            if comma is not None:
                found.append(comma)
    return _without_overlaps(found)


def _comma_form(text: str, family: list[Token], given: list[Token], prefixes: frozenset[str]) -> Mention | None:
    """"Berg, Jan" / "van der Berg, Jan" / "Berg, J.": a one-word family name (particles allowed), ", " and one
    or two given names or initials; nothing glued after it."""
    if text[family[-1].end:given[0].start] != ", " or family[0].text in prefixes:
        return None
    names = [t for t in family if _name_word(t)]
    given_words = [t for t in given if _name_word(t)]
    if len(names) != 1 or names[0].kind not in ("cap", "upper") or not 1 <= len(given_words) <= 2:
        return None
    if any(t.kind not in ("cap", "initial") for t in given_words):  # "Also, CUNHA-GUERREIRO Luca" is no "Berg, Jan"
        return None
    if len(given_words) == 2 and given_words[0].kind == "initial" and given_words[1].kind == "cap":
        return None  # "Also, C. Moreira": the name is after the comma
    if any(t.kind == "lower" for t in given) or given_words[0].text in prefixes:
        return None
    start, end = family[0].start, given[-1].end
    return Mention(start, end, text[start:end], tuple(t.text for t in (*family, *given)), True)


def _without_overlaps(found: list[Mention]) -> list[Mention]:
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[Mention] = []
    for mention in found:
        if not kept or mention.start >= kept[-1].end:
            kept.append(mention)
    return kept


def split_name(name: str) -> tuple[list[str], list[str]]:
    """(given names, family name) of a name written given name first: the family name starts at its first
    lower-case particle ("Jan | van der Berg"), else it is the last word ("Anne-Marie | Dupont-Leroy")."""
    words = name.split()
    if len(words) < 2:
        return [], words
    for i, word in enumerate(words[1:-1], start=1):
        if _kind(word) == "lower":
            return words[:i], words[i:]
    return words[:-1], words[-1:]


def written_like(name: str, mention: Mention) -> str:
    """``name`` (given name first, as a request gives it) in the form of ``mention``: family name first with a
    comma or in capitals, given names as initials, as the mention writes its own."""
    given, family = split_name(name)
    if not given:
        return name
    if any(_kind(w) == "initial" for w in mention.words):
        given = ["-".join(f"{part[0]}." for part in g.split("-")) for g in given]  # "Anne-Marie": "A.-M."
    if mention.family_first and "," in mention.text:
        return f"{' '.join(family)}, {' '.join(given)}"
    if mention.family_first:
        return f"{' '.join(family).upper()} {' '.join(given)}"
    if any(_kind(w) == "upper" for w in mention.words):  # "Anne BELL": family name in capitals, after
        return f"{' '.join(given)} {' '.join(family).upper()}"
    return f"{' '.join(given)} {' '.join(family)}"


def is_named(mention: Mention, name: str) -> bool:
    """Whether ``mention`` names the person called ``name``, in any form: every name word of the mention is one of
    the name's words or its initial, and the family name is among them."""
    given, family = split_name(name)
    words = {w.casefold() for w in (*given, *family)}
    initials = {"-".join(f"{part[0]}." for part in w.split("-")).casefold() for w in given}
    initials |= {f"{w[0]}.".casefold() for w in given}
    written = [w.casefold() for w in mention.words if _kind(w) != "lower"]
    if not written or not all(w in words or w in initials for w in written):
        return False
    return family[-1].casefold() in written
