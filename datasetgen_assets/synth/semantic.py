"""Realistic values for semantic fields (names, emails, addresses, companies, URLs, text).

Faker is called only to build small value pools per locale (a few thousand calls, with a fixed
Faker seed, so pools never change between runs); rows are then sampled from the pools with
the caller's random stream and combined with vectorized Arrow string kernels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

POOL_SEED = 20240101
POOL = 1000  # draws per pool; Faker's own frequencies survive as repeats
TLDS = ["com", "net", "org", "io", "co", "biz", "info"]
_NOT_EMAIL = re.compile(r"[^a-z0-9]")


@dataclass(frozen=True)
class Pools:
    """Value pools of one locale and seed, each an Arrow string array."""

    first: pa.Array
    last: pa.Array
    email_first: pa.Array
    email_last: pa.Array
    email_domain: pa.Array
    street: pa.Array
    city: pa.Array
    state: pa.Array
    postcode: pa.Array
    company: pa.Array
    word: pa.Array
    domain_word: pa.Array


def _ascii_lower(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_EMAIL.sub("", plain.lower()) or "user"


def _email_parts(fake: Any, first: list[str], last: list[str],
                 draw: Callable[..., list[str]]) -> tuple[list[str], list[str]]:
    """ASCII name parts for email addresses: the names themselves, their romanized forms
    (e.g. ja_JP), or English names for scripts that have no ASCII form."""
    parts = [_ascii_lower(x) for x in first], [_ascii_lower(x) for x in last]
    if sum(p == "user" for p in parts[0]) < len(first) // 2:
        return parts
    try:
        return ([_ascii_lower(x) for x in draw(fake.first_romanized_name)],
                [_ascii_lower(x) for x in draw(fake.last_romanized_name)])
    except AttributeError:
        from faker import Faker

        en = Faker("en_US")
        en.seed_instance(POOL_SEED)
        return ([_ascii_lower(en.first_name()) for _ in range(POOL)],
                [_ascii_lower(en.last_name()) for _ in range(POOL)])


@lru_cache(maxsize=8)
def pools(locale: str = "en_US") -> Pools:
    """Pools drawn from Faker for `locale` (deterministic: a fixed Faker seed)."""
    from faker import Faker

    try:
        fake = Faker(locale)
    except AttributeError as exc:
        from datasetgen_assets.errors import StepInputError

        raise StepInputError(f"unknown Faker locale '{locale}'",
                             fix="use e.g. en_US, en_GB, de_DE, fr_FR") from exc
    fake.seed_instance(POOL_SEED)

    def draw(fn: Callable[[], Any], k: int = POOL) -> list[str]:
        return [str(fn()) for _ in range(k)]

    first, last = draw(fake.first_name), draw(fake.last_name)
    email_first, email_last = _email_parts(fake, first, last, draw)
    state_fn = getattr(fake, "state_abbr", None) or getattr(fake, "administrative_unit",
                                                            fake.city)
    words = sorted(set(draw(fake.word, 3000)))
    return Pools(
        first=pa.array(first), last=pa.array(last),
        email_first=pa.array(email_first), email_last=pa.array(email_last),
        email_domain=pa.array(draw(fake.free_email_domain, 200)),
        street=pa.array(draw(fake.street_name, 600)),
        city=pa.array(draw(fake.city, 400)),
        state=pa.array(draw(state_fn, 200)),
        postcode=pa.array(draw(fake.postcode, 500)),
        company=pa.array(draw(fake.company, 3000)),
        word=pa.array(words),
        domain_word=pa.array(sorted(set(draw(fake.domain_word, 800)))),
    )


def pick(pool: pa.Array, rng: np.random.Generator, n: int) -> pa.Array:
    """n values sampled from a pool."""
    return pool.take(pa.array(rng.integers(0, len(pool), size=n)))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def numbers(rng: np.random.Generator, n: int, lo: int, hi: int, width: int = 0) -> pa.Array:
    """Random integers as text, zero-padded to `width`."""
    text = pc.cast(pa.array(rng.integers(lo, hi + 1, size=n)), pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def name(p: Pools, rng: np.random.Generator, n: int) -> pa.Array:
    return join(pick(p.first, rng, n), " ", pick(p.last, rng, n))


def email(p: Pools, rng: np.random.Generator, n: int) -> pa.Array:
    """first.last[NN]@free-domain, lower case ASCII."""
    digits = numbers(rng, n, 0, 99)
    digits = pc.if_else(pa.array(rng.random(n) < 0.5), digits, "")
    return join(pick(p.email_first, rng, n), ".", pick(p.email_last, rng, n), digits, "@",
                pick(p.email_domain, rng, n))


def address(p: Pools, rng: np.random.Generator, n: int) -> pa.Array:
    """'123 Main Street, Springfield, IL 12345'."""
    return join(numbers(rng, n, 1, 9999), " ", pick(p.street, rng, n), ", ",
                pick(p.city, rng, n), ", ", pick(p.state, rng, n), " ", pick(p.postcode, rng, n))


def company(p: Pools, rng: np.random.Generator, n: int) -> pa.Array:
    return pick(p.company, rng, n)


def url(p: Pools, rng: np.random.Generator, n: int) -> pa.Array:
    tld = pa.array(TLDS).take(pa.array(rng.integers(0, len(TLDS), size=n)))
    return join("https://www.", pick(p.domain_word, rng, n), ".", tld, "/",
                pick(p.word, rng, n))


def text(p: Pools, rng: np.random.Generator, n: int, lo: int = 5, hi: int = 15) -> pa.Array:
    """A sentence of lo..hi words."""
    counts = rng.integers(max(lo, 1), max(hi, lo, 1) + 1, size=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    flat = pick(p.word, rng, int(offsets[-1]))
    sentences = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), flat), " ")
    return join(pc.utf8_capitalize(sentences), ".")


GENERATORS = {"name": name, "email": email, "address": address, "company": company,
              "url": url}


def pool_size_hint(field_type: str) -> int | None:
    """Distinct values a semantic type can take before pools are built (None: unlimited for
    practical row counts; the generator still reports a shortfall it meets)."""
    return None
