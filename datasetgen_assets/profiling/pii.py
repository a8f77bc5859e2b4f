"""Cheap PII flags per column: validators and regexes over a sample, plus column-name hints.

The entity kinds follow Presidio's names where one exists, so the PII engine can take over.
"""

from __future__ import annotations

import re
from collections.abc import Callable

BY_TYPE = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "ip_address": "IP_ADDRESS"}
RE_CARD = re.compile(r"^(?:\d[ -]?){12,18}\d$")
RE_IBAN = re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}$")
RE_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
NAME_HINTS = [
    (re.compile(r"(^|_)(first|last|full|given|family|middle|sur|customer|person|contact|user"
                r"|employee|patient|client|maiden)_?name$|^name$|surname|forename"),
     "PERSON"),
    (re.compile(r"(^|_)(street|address|addr)(_|$)|address_line"), "LOCATION"),
    (re.compile(r"(^|_)(dob|birth_?date|date_of_birth|birthday)(_|$)"), "DATE_OF_BIRTH"),
    (re.compile(r"(^|_)(ssn|social_security|passport|national_id|tax_id)(_|$)"), "ID_NUMBER"),
]


def luhn_ok(text: str) -> bool:
    """The Luhn checksum of a card number (spaces and dashes ignored)."""
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN."""
    s = text.replace(" ", "").upper()
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ssn_ok(text: str) -> bool:
    """US SSN area/group/serial rules (no 000, 666 or 9xx area; no 00 group; no 0000)."""
    area, group, serial = text.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _share(values: list[str], pattern: re.Pattern[str], check: Callable[[str], bool]) -> float:
    hits = [v for v in values if pattern.match(v)]
    if not hits:
        return 0.0
    return sum(1 for v in hits if check(v)) / len(values)


def detect_pii(name: str, semantic_type: str, sample: list[str] | None,
               threshold: float = 0.8) -> str | None:
    """The PII entity kind of a column, or None."""
    if semantic_type in BY_TYPE:
        return BY_TYPE[semantic_type]
    if sample is not None and len(sample) and semantic_type in ("identifier", "free_text",
                                                                "integer", "categorical"):
        values = sample[:300]
        lengths = sorted(len(v) for v in values)
        median = lengths[len(lengths) // 2]
        if median == 11 and _share(values, RE_SSN, ssn_ok) >= threshold:
            return "US_SSN"
        if 13 <= median <= 23 and _share(values, RE_CARD, luhn_ok) >= threshold:
            return "CREDIT_CARD"
        if 15 <= median <= 42 and values[0][:1].isalpha() and _share(
                values, RE_IBAN, iban_ok) >= threshold:
            return "IBAN_CODE"
    lname = name.lower().replace(" ", "_").replace("-", "_")
    if semantic_type in ("free_text", "identifier", "categorical", "date", "datetime",
                         "integer"):
        for pattern, kind in NAME_HINTS:
            if pattern.search(lname):
                if kind == "DATE_OF_BIRTH" and semantic_type not in ("date", "datetime"):
                    continue
                return kind
    return None
