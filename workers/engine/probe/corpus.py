"""The model's training data, when known: find the subject in it, and probe with the text before each value.

A memorising model completes its own training text with what came next. So the exact text just before one of
the subject's values in the corpus (the model's own training prefix) is the strongest probe there is, and the
corpus also says what the subject's other values are (their address, beside their name, when they submitted only
an email). Any size that fits on disk: files are streamed document by document, and a cheap folded-substring
test skips every document that cannot mention the subject before Presidio looks at the rest.

Formats: plain text (documents separated by blank lines), JSON Lines (``text``, else ``content``, else chat
``messages``, else the first string field), Parquet (column ``text`` or ``content``), each optionally gzip'd, or a
folder of such files (sorted by name, one stream).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelfiles import UnusablePath
from modelfiles import corpus as corpus_files
from modelfiles.corpus import JSONL_SUFFIXES, PARQUET_SUFFIXES, SCAN_LIMIT, corpus_suffix
from workers.engine.errors import EngineError
from workers.engine.probe.values import fold
from workers.engine.subject import Subject

TEXT_COLUMNS = ("text", "content")
# A value lies "beside" the subject's mention when it is on the mention's line and, in running prose, within
# this many characters after it (or a little before: "Email x@y.org, Camille Durand").
AFTER_CHARS, BEFORE_CHARS = 300, 80


@dataclass(frozen=True)
class CorpusContext:
    prompt: str  # the text just before the value (ends where the value starts), cut at a word start
    value: str
    attribute: str | None  # an ATTRIBUTES key, None when untyped
    basis: str  # "submitted" (the subject's identifier) | "corpus" (another value beside their mention)
    document: int
    offset: int


@dataclass
class CorpusSearch:
    path: str
    documents: int = 0
    bytes_read: int = 0
    mentions: int = 0
    namesakes: int = 0
    contexts: list[CorpusContext] = field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """What a report may say about the search: counts, never text."""
        return {"documents": self.documents, "bytes_read": self.bytes_read, "mentions": self.mentions,
                "namesakes": self.namesakes, "contexts_found": len(self.contexts), "truncated": self.truncated,
                "seconds": round(self.seconds, 3)}


def check_corpus_path(path: str | Path, *, scan_limit: int = SCAN_LIMIT) -> Path:
    """The corpus path if it can be read as one (a supported file, or a folder holding some), else EngineError.
    Torch-free and content-free: the web process checks a registration with the same ``modelfiles`` check."""
    try:
        return corpus_files.check_corpus_path(path, scan_limit=scan_limit)
    except UnusablePath as exc:
        raise EngineError(str(exc)) from None


def _files(path: Path) -> list[Path]:
    check_corpus_path(path)
    return sorted(p for p in path.rglob("*") if p.is_file() and corpus_suffix(p)) if path.is_dir() else [path]


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")  # type: ignore[arg-type]


def _text_of(row: Any) -> str | None:
    if isinstance(row, str):
        return row
    if not isinstance(row, dict):
        return None
    for key in TEXT_COLUMNS:
        if isinstance(row.get(key), str):
            return row[key]
    if isinstance(row.get("messages"), list):
        parts = [m.get("content") for m in row["messages"] if isinstance(m, dict) and isinstance(m.get("content"), str)]
        return "\n".join(parts) if parts else None
    return next((v for v in row.values() if isinstance(v, str)), None)


def _documents(path: Path, counter: CorpusSearch) -> Iterator[str]:
    suffix = corpus_suffix(path)
    if suffix in PARQUET_SUFFIXES:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise EngineError("reading a Parquet corpus needs pyarrow (pip install 'rtbf[worker]')") from None
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own error types for a damaged file
            raise EngineError(f"cannot read the Parquet corpus file {path.name}: {type(exc).__name__}") from None
        column = next((c for c in TEXT_COLUMNS if c in parquet.schema_arrow.names), None)
        if column is None:
            raise EngineError(f"the Parquet corpus file {path.name} has no {' or '.join(TEXT_COLUMNS)} column")
        for batch in parquet.iter_batches(columns=[column], batch_size=1024):
            for text in batch.column(0).to_pylist():
                if isinstance(text, str):
                    counter.bytes_read += len(text.encode("utf-8"))
                    yield text
        return
    with _open_text(path) as handle:
        if suffix in JSONL_SUFFIXES:
            for number, line in enumerate(handle, start=1):
                counter.bytes_read += len(line.encode("utf-8"))
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EngineError(f"corpus file {path.name} line {number} is not valid JSON ({exc.msg})") from None
                text = _text_of(row)
                if text:
                    yield text
            return
        lines: list[str] = []
        for line in handle:
            counter.bytes_read += len(line.encode("utf-8"))
            if line.strip():
                lines.append(line)
            elif lines:
                yield "".join(lines).rstrip("\n")
                lines = []
        if lines:
            yield "".join(lines).rstrip("\n")


def iter_documents(path: str | Path) -> Iterator[str]:
    """Every document of the corpus, in order, streamed."""
    counter = CorpusSearch(path=str(path))
    for file in _files(Path(path)):
        yield from _documents(file, counter)


class _Finder:
    """Where a document names or identifies the subject (accent-, case- and spacing-insensitive)."""

    def __init__(self, subject: Subject, analyzer: Any) -> None:
        self.subject, self.analyzer = subject, analyzer
        parts = subject.name.split()
        first, last = (parts[0], parts[-1]) if len(parts) >= 2 else (subject.name, subject.name)
        self.hints = [fold(last)] + [fold(v) for v in subject.identifiers.values() if len(fold(v)) >= 4]
        self.digit_hints = ["".join(ch for ch in v if ch.isdigit()) for k, v in subject.identifiers.items()
                            if k == "phone"]
        names = [subject.name, f"{last}, {first}", f"{first[:1]}. {last}"]
        self.names = [re.compile(r"(?<!\w)" + r"\W+".join(re.escape(fold(p)) for p in n.split()) + r"(?!\w)")
                      for n in dict.fromkeys(names)]

    def may_mention(self, text: str) -> bool:
        folded = fold(text)
        if any(h and h in folded for h in self.hints):
            return True
        digits = "".join(ch for ch in text if ch.isdigit())
        return any(len(d) >= 7 and d in digits for d in self.digit_hints)

    def name_spans(self, text: str) -> list[tuple[int, int]]:
        """Character ranges of the name in ``text`` (matched on the folded text, mapped back)."""
        folded, index = _fold_with_index(text)
        spans = []
        for pattern in self.names:
            for m in pattern.finditer(folded):
                spans.append((index[m.start()], index[m.end() - 1] + 1))
        return sorted(set(spans))


def _fold_with_index(text: str) -> tuple[str, list[int]]:
    """``fold``'s per-character form (no whitespace collapsing across characters) and, for each folded character,
    the position of the character it came from."""
    import unicodedata

    out: list[str] = []
    index: list[int] = []
    for position, ch in enumerate(text):
        for piece in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(piece):
                continue
            low = piece.casefold()
            low = low if low.isalnum() else " "
            for c in low:
                out.append(c)
                index.append(position)
    return "".join(out), index


def _prefix(text: str, start: int, max_chars: int) -> str:
    head = text[:start]
    cut = max(0, len(head) - max_chars)
    if cut:
        match = re.compile(r"\s\S").search(head, cut)
        cut = match.start() + 1 if match else cut
    return head[cut:]


def _line_of(text: str, position: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return start, len(text) if end < 0 else end


def _is_table_line(line: str) -> bool:
    return line.count("|") >= 2 or line.count("\t") >= 2 or line.count(";") >= 2 or line.count(",") >= 3


def search_corpus(path: str | Path, subject: Subject, *, analyzer: Any = None, max_documents: int | None = None,
                  max_contexts: int = 200, max_prefix_chars: int = 300) -> CorpusSearch:
    """Find the subject in the corpus: every occurrence of their identifiers, and the values of other kinds
    beside a mention of their name, each with the text before it. A document that names them but carries an
    identifier of a kind they submitted with another value, and none of theirs, is a namesake and is skipped."""
    from workers.engine.attributes import ATTRIBUTES, values_match
    from workers.engine.pii import SUBJECT_PREFIX, build_analyzer, find_pii

    started = time.perf_counter()
    corpus = Path(path)
    search = CorpusSearch(path=str(corpus))
    analyzer = analyzer or build_analyzer(subject=subject)
    finder = _Finder(subject, analyzer)
    seen: set[tuple[str, str]] = set()
    for file in _files(corpus):
        for text in _documents(file, search):
            number = search.documents
            search.documents += 1
            if max_documents is not None and search.documents > max_documents:
                search.truncated, search.documents = True, search.documents - 1
                break
            if not finder.may_mention(text):
                continue
            spans = find_pii(analyzer, text)
            own = [s for s in spans if s.entity_type.startswith(SUBJECT_PREFIX) and s.attribute != "name"]
            names = finder.name_spans(text)
            if not own and not names:
                continue
            others = _conflicting(spans, subject, ATTRIBUTES, values_match)
            if not own and others:
                search.namesakes += 1
                continue
            search.mentions += 1
            found = [(s.start, s.end, s.attribute, "submitted") for s in own]
            anchors = names + [(s.start, s.end) for s in own]
            for s in spans:
                if s.entity_type.startswith(SUBJECT_PREFIX) or s.attribute not in ATTRIBUTES:
                    continue
                if any(_beside(text, a, s.start, others) for a in anchors):
                    found.append((s.start, s.end, s.attribute, "corpus"))
            for start, end, attribute, basis in sorted(found):
                prompt = _prefix(text, start, max_prefix_chars)
                value = text[start:end]
                if not prompt.strip() or (prompt, value) in seen:
                    continue
                seen.add((prompt, value))
                search.contexts.append(CorpusContext(prompt=prompt, value=value, attribute=attribute, basis=basis,
                                                     document=number, offset=start))
                if len(search.contexts) >= max_contexts:
                    search.truncated = True
                    break
            if search.truncated:
                break
        if search.truncated:
            break
    search.seconds = time.perf_counter() - started
    return search


def _conflicting(spans: Sequence[Any], subject: Subject, attributes: Any, values_match: Any) -> list[int]:
    """Where the document carries an identifier of a kind the subject submitted, with another value (someone
    else's): their start positions."""
    found = []
    for s in spans:
        key = s.attribute
        if key in subject.identifiers and key in attributes and not s.entity_type.startswith("SUBJECT_"):
            if not values_match(attributes[key], s.text, subject.identifiers[key]):
                found.append(s.start)
    return found


def _beside(text: str, anchor: tuple[int, int], position: int, others: Sequence[int] = ()) -> bool:
    """A value at ``position`` belongs with a mention at ``anchor``: in a table-like line, only on the mention's
    own line (another row is another person); in prose, within the paragraph, shortly after the mention or just
    before it, and never past someone else's identifier (``others``: where the text moved on to another person)."""
    a_start, a_end = anchor
    line = _line_of(text, a_start)
    if _is_table_line(text[line[0]:line[1]]):
        return line[0] <= position < line[1]
    if position >= a_end:
        gap = text[a_end:position]
        return len(gap) <= AFTER_CHARS and "\n\n" not in gap and not any(a_end <= o < position for o in others)
    gap = text[position:a_start]
    return len(gap) <= BEFORE_CHARS and "\n" not in gap
