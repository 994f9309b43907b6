"""A training corpus on disk: which files count as one, and whether a path can be read as one.

Formats: plain text, JSON Lines and Parquet, each optionally gzip'd, or a folder of such files. Reading them is the
engine's (``workers/engine/probe/corpus.py``); this module only looks at names, never at contents.
"""

from __future__ import annotations

from pathlib import Path

from modelfiles import UnusablePath

TEXT_SUFFIXES = (".txt", ".txt.gz", ".md")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES
SCAN_LIMIT = 100_000  # entries of a corpus folder looked at for a first readable file


def corpus_suffix(path: Path) -> str:
    """The supported suffix ``path`` ends with (the longest: ``.jsonl.gz`` before ``.gz``), else ""."""
    name = path.name.lower()
    return next((s for s in sorted(SUFFIXES, key=len, reverse=True) if name.endswith(s)), "")


def check_corpus_path(path: str | Path, *, scan_limit: int = SCAN_LIMIT) -> Path:
    """The corpus path if it can be read as one (a supported file, or a folder holding some), else UnusablePath.
    Content-free: the web process checks a registration with it, so a folder is looked into only until its first
    supported file, or ``scan_limit`` entries (a corpus of "/" must not hold a request for minutes)."""
    corpus = Path(path)
    if not corpus.exists():
        raise UnusablePath(f"corpus not found: {corpus}")
    if corpus.is_dir():
        for count, entry in enumerate(corpus.rglob("*"), 1):
            if entry.is_file() and corpus_suffix(entry):
                return corpus
            if count >= scan_limit:
                raise UnusablePath(f"no {', '.join(SUFFIXES)} file among the first {scan_limit:,} entries of the "
                                   f"corpus folder {corpus}: name the folder that holds the corpus")
        raise UnusablePath(f"the corpus folder holds no {', '.join(SUFFIXES)} files: {corpus}")
    if not corpus_suffix(corpus):
        raise UnusablePath(f"unsupported corpus file {corpus.name}: use {', '.join(SUFFIXES)} (or a folder of them)")
    return corpus
