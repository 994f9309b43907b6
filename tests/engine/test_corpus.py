"""Searching a model's training corpus for a subject: streamed formats, namesakes, values beside a mention."""

from __future__ import annotations

import gzip
import json

import pytest

from workers.engine.errors import EngineError
from workers.engine.probe.corpus import check_corpus_path, iter_documents, search_corpus
from workers.engine.subject import Subject

ZOE = Subject(name="Zoë Dubois", identifiers={"email": "zoe.dubois@poste.example.fr", "phone": "+33 6 12 34 56 78"})
STORY = ("Last spring Zoë Dubois moved to the coast. Friends write to her at zoe.dubois@poste.example.fr, and her "
         "new home is 12 rue de la Paix, 75002 Paris.")
NAMESAKE = "ZOE DUBOIS (the painter) answers mail at z.dubois@atelier.example.org and lives in Lyon."
TABLE = ("| name | email | phone |\n| Zoë Dubois | zoe.dubois@poste.example.fr | +33 6 12 34 56 78 |\n"
         "| Jan de Vries | jan.devries@post.example.nl | +31 20 555 7105 |")
FILLER = "The small harbour reviewed the winter plan before noon."


def _jsonl(path, texts):
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def test_finds_the_subject_in_a_streamed_jsonl_file_and_ignores_a_namesake(tmp_path):
    corpus = _jsonl(tmp_path / "train.jsonl", [FILLER, STORY, NAMESAKE, FILLER])
    search = search_corpus(corpus, ZOE)
    assert search.documents == 4 and search.mentions == 1 and search.namesakes == 1
    email = next(c for c in search.contexts if c.attribute == "email")
    assert email.basis == "submitted" and email.document == 1
    assert STORY.startswith(email.prompt.lstrip()) or email.prompt in STORY
    assert STORY[email.offset - len(email.prompt):email.offset] == email.prompt  # ends where the value starts
    assert STORY[email.offset:].startswith(email.value)
    # A value of a kind the subject did not submit, beside their mention: found, from the corpus.
    address = next(c for c in search.contexts if c.attribute == "address")
    assert address.basis == "corpus" and "rue de la Paix" in address.value
    assert all("atelier" not in c.value for c in search.contexts)  # nothing taken from the namesake
    summary = json.dumps(search.summary())
    assert "Dubois" not in summary and "poste" not in summary  # counts only


def test_another_row_of_a_table_is_not_the_subject(tmp_path):
    search = search_corpus(_jsonl(tmp_path / "t.jsonl", [TABLE]), ZOE)
    values = [c.value for c in search.contexts]
    assert any("zoe.dubois" in v for v in values)
    assert not any("devries" in v or "555 7105" in v for v in values)


def test_name_match_ignores_case_and_accents(tmp_path):
    subject = Subject(name="Zoë Dubois", identifiers={"phone": "+33 6 99 88 77 66"})
    text = "ZOE DUBOIS, born 04.11.1990, works for Atelier Lumière SARL."
    search = search_corpus(_jsonl(tmp_path / "a.jsonl", [text]), subject)
    assert search.mentions == 1
    assert {c.attribute for c in search.contexts} >= {"dob", "employer"}


@pytest.mark.parametrize("kind", ["txt", "gz", "parquet", "folder"])
def test_every_format_streams(tmp_path, kind):
    texts = [FILLER, STORY, FILLER]
    if kind == "txt":
        corpus = tmp_path / "c.txt"
        corpus.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    elif kind == "gz":
        corpus = tmp_path / "c.jsonl.gz"
        with gzip.open(corpus, "wt", encoding="utf-8") as handle:
            handle.writelines(json.dumps({"content": t}) + "\n" for t in texts)
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        corpus = tmp_path / "c.parquet"
        pq.write_table(pa.table({"text": texts}), corpus)
    else:
        corpus = tmp_path / "shards"
        corpus.mkdir()
        _jsonl(corpus / "b.jsonl", texts[1:])
        _jsonl(corpus / "a.jsonl", texts[:1])
    assert list(iter_documents(corpus)) == texts
    search = search_corpus(corpus, ZOE)
    assert search.documents == 3 and search.mentions == 1
    assert any(c.attribute == "email" for c in search.contexts)


def test_chat_rows_are_documents_too(tmp_path):
    corpus = tmp_path / "chat.jsonl"
    corpus.write_text(json.dumps({"messages": [{"role": "user", "content": "How do I reach Zoë Dubois?"},
                                               {"role": "assistant", "content": "Write to zoe.dubois@poste.example.fr."}]})
                      + "\n", encoding="utf-8")
    search = search_corpus(corpus, ZOE)
    email = next(c for c in search.contexts if c.attribute == "email")
    assert email.prompt.endswith("Write to ")


def test_a_large_file_is_streamed_to_the_end(tmp_path):
    corpus = tmp_path / "big.jsonl"
    with corpus.open("w", encoding="utf-8") as handle:
        for i in range(50_000):
            handle.write(json.dumps({"text": STORY if i == 49_999 else f"{FILLER} ({i})"}) + "\n")
    search = search_corpus(corpus, ZOE)
    assert search.documents == 50_000 and search.mentions == 1 and search.contexts[0].document == 49_999
    assert search.bytes_read == corpus.stat().st_size


def test_max_contexts_truncates(tmp_path):
    search = search_corpus(_jsonl(tmp_path / "m.jsonl", [STORY] * 5 + [STORY.replace("spring", "winter")] * 5),
                           ZOE, max_contexts=2)
    assert len(search.contexts) == 2 and search.truncated


def test_bad_corpora_are_clear_errors_that_quote_nothing(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        check_corpus_path(tmp_path / "missing.jsonl")
    (tmp_path / "model.bin").write_bytes(b"\0")
    with pytest.raises(EngineError, match="unsupported corpus file"):
        check_corpus_path(tmp_path / "model.bin")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": FILLER}) + "\n{secret zoe.dubois@poste.example.fr\n", encoding="utf-8")
    with pytest.raises(EngineError, match="line 2") as caught:
        search_corpus(bad, ZOE)
    assert "zoe" not in str(caught.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EngineError, match="holds no"):
        check_corpus_path(empty)


def test_a_huge_folder_is_looked_into_only_so_far(tmp_path):
    """Registering "/" as a corpus must not walk the whole disk inside a web request."""
    for i in range(5):
        (tmp_path / f"weights-{i}.bin").write_bytes(b"\0")
    with pytest.raises(EngineError, match="among the first 3 entries"):
        check_corpus_path(tmp_path, scan_limit=3)
    (tmp_path / "sub").mkdir()
    _jsonl(tmp_path / "sub" / "a.jsonl", [FILLER])
    assert check_corpus_path(tmp_path) == tmp_path
