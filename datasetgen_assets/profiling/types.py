"""Semantic type inference for one column, from its distinct values and their counts.

Every detector works on a sample of distinct, stripped, non-null strings with weights (how many
rows hold each value), so ratios are row ratios and the cost is bounded by the sample size.
The first detector (in a fixed order, specific before general) whose weighted match ratio
reaches the threshold wins; near misses and equally good readings are reported, not hidden.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

# Boolean vocabularies (lower case).
TRUE_TOKENS = frozenset({"true", "yes", "y", "t", "1", "on"})
FALSE_TOKENS = frozenset({"false", "no", "n", "f", "0", "off"})
CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₪฿"
CURRENCY_CODES = ("USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|SEK|NOK|DKK|PLN|BRL|MXN|ZAR|NZD|HKD|SGD"
                  "|CZK|HUF|TRY|RUB|KRW")

SPACES = " \u00a0\u202f"  # real characters: the patterns must stay RE2-compatible (Arrow)
_NUM_US = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUM_EU = r"[+-]?(?:\d{1,3}(?:[." + SPACES + r"]\d{3})+|\d+)(?:,\d+)?"
RE_US = re.compile(rf"^{_NUM_US}$")
RE_EU = re.compile(rf"^{_NUM_EU}$")
RE_PLAIN_INT = re.compile(r"^[+-]?\d+$")
RE_SCI = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
RE_DOT_FLOAT = re.compile(r"^[+-]?(?:\d*\.\d+|\d+\.)$")
RE_EMAIL = re.compile(r"^[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
RE_URL = re.compile(r"(?i)^(?:(?:https?|ftp)://[^\s/$.?#][^\s]*|www\.[^\s]+\.[A-Za-z]{2,}"
                    r"[^\s]*)$")
RE_UUID = re.compile(r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                     r"[0-9a-fA-F]{12}\}?$")
RE_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
RE_IPV6 = re.compile(r"^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$")
RE_PERCENT = re.compile(r"^[+-]?\d[\d.," + SPACES + r"]*\s?%$|^[+-]?[.,]\d+\s?%$")
RE_CURRENCY = re.compile(
    rf"^(?P<sign>[+-])?\s*(?P<pre>[{CURRENCY_SYMBOLS}]|R\$|(?:{CURRENCY_CODES})\s?)?\s*"
    rf"(?P<sign2>[+-])?(?P<num>\d[\d.,{SPACES}]*)\s*"
    rf"(?P<post>[{CURRENCY_SYMBOLS}]|\s?(?:{CURRENCY_CODES})|\s?kr)?$"
)
RE_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,22}$")
RE_PHONE_SEP = re.compile(r"^\+|[\s().\-/]")
POSTAL = {
    "US": re.compile(r"^\d{5}(?:-\d{4})?$"),
    "GB": re.compile(r"(?i)^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
    "CA": re.compile(r"(?i)^[A-Z]\d[A-Z] ?\d[A-Z]\d$"),
    "NL": re.compile(r"(?i)^\d{4} ?[A-Z]{2}$"),
    "PL": re.compile(r"^\d{2}-\d{3}$"),
    "PT": re.compile(r"^\d{4}-\d{3}$"),
}
RE_DIGITS_4_6 = re.compile(r"^\d{4,6}$")
RE_DATEISH = re.compile(r"\d{1,4}[-/. ]|[A-Za-z]{3,9}[ ,.-]+\d|\d[ -][A-Za-z]{3}")
RE_TIMEISH = re.compile(r"^\d{1,2}:\d{2}")
HINT_POSTAL = re.compile(r"zip|postal|post_?code|plz|postcode|cap$|^cp$")
HINT_PHONE = re.compile(r"phone|tel|mobile|cell|fax")
HINT_ID = re.compile(r"(^|_)(id|key|uuid|guid|code|sku|ref|number|no)$|^id")
HINT_PERCENT = re.compile(r"pct|percent|ratio_pct")
HINT_DATE = re.compile(r"date|day|dob|birth|_at$|_on$|time|when")

DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%d.%m.%Y", "%m.%d.%Y", "%d/%m/%y", "%m/%d/%y", "%d.%m.%y", "%d-%m-%y", "%m-%d-%y",
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%d-%b-%Y", "%d-%b-%y",
    "%Y%m%d",
]  # fmt: skip
_TIME_PARTS = [" %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p"]
DATETIME_FORMATS = [
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f%z",
    *[d + t for d in DATE_FORMATS[:14] for t in _TIME_PARTS],
]  # fmt: skip
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p", "%I %p"]


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166 alpha-2 codes (phonenumbers' regions)."""
    import phonenumbers

    return frozenset(c for c in phonenumbers.SUPPORTED_REGIONS if len(c) == 2 and c.isalpha())


def country_names() -> frozenset[str]:
    """Lower-case country names (see `countries.py`)."""
    from datasetgen_assets.profiling.countries import COUNTRY_NAMES

    return COUNTRY_NAMES


@dataclass
class TypeGuess:
    """The inferred semantic type of a column and what was learned on the way."""

    semantic_type: str
    confidence: float = 1.0
    attrs: dict[str, Any] = field(default_factory=dict)
    ambiguity: str | None = None
    issues: list[tuple[str, str, int | None]] = field(default_factory=list)  # kind, detail, n
    unmatched: list[str] = field(default_factory=list)  # examples not of the type


def _ratio(mask: np.ndarray | pd.Series, weights: np.ndarray) -> float:
    total = weights.sum()
    return float(np.asarray(mask, dtype=bool) @ weights / total) if total else 0.0


SMALL = 256  # below this many values, Python's re beats a pandas/Arrow call's overhead


def _match(values: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    if len(values) <= SMALL:
        return np.fromiter((pattern.match(v) is not None for v in values.tolist()), dtype=bool,
                           count=len(values))
    return values.str.match(pattern.pattern, flags=pattern.flags).to_numpy(dtype=bool,
                                                                         na_value=False)


def _contains(values: pd.Series, pattern: str) -> np.ndarray:
    if len(values) <= SMALL:
        rx = _compiled(pattern)
        return np.fromiter((rx.search(v) is not None for v in values.tolist()), dtype=bool,
                           count=len(values))
    return values.str.contains(pattern, regex=True).to_numpy(dtype=bool, na_value=False)


def isin(values: pd.Series | list[str], members: frozenset[str] | set[str]) -> np.ndarray:
    """Boolean array: which values are in `members` (Python set lookups: no per-call
    conversion of a large set, unlike Series.isin)."""
    items = values.tolist() if isinstance(values, pd.Series) else values
    return np.fromiter((v in members for v in items), dtype=bool, count=len(items))


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _validated(values: pd.Series, mask: np.ndarray, check: Any, limit: int = 400) -> np.ndarray:
    """`mask` narrowed by a Python validator, run on at most `limit` candidates (the rest keep
    the regex answer scaled by the validated share)."""
    idx = np.flatnonzero(mask)
    out = mask.copy()
    for i in idx[:limit]:
        try:
            out[i] = bool(check(values.iat[i]))
        except Exception:
            out[i] = False
    return out


# --- numbers ---------------------------------------------------------------------------------

@dataclass
class NumberLocale:
    decimal: str = "."
    thousands: str | None = None
    ambiguity: str | None = None


def decide_locale(values: pd.Series, weights: np.ndarray, prefer: str | None) -> NumberLocale:
    """Decimal and thousands separators from the evidence in `values` (number strings)."""
    us = _match(values, RE_US)
    eu = _match(values, RE_EU)
    us_only = _ratio(us & ~eu, weights)
    eu_only = _ratio(eu & ~us, weights)
    has_comma = _contains(values, ",")
    has_dot = _contains(values, r"\.")
    has_space = _contains(values, f"[{SPACES}]")
    if us_only > 0 and eu_only == 0:
        return NumberLocale(".", "," if (has_comma & us).any() else None)
    if eu_only > 0 and us_only == 0:
        thousands = "." if (has_dot & eu).any() else (" " if (has_space & eu).any() else None)
        return NumberLocale(",", thousands)
    if us_only > 0 and eu_only > 0:
        dec = "." if us_only >= eu_only else ","
        return NumberLocale(dec, "," if dec == "." else ".",
                            ambiguity=f"both '1,234.5' and '1.234,5' styles occur "
                                      f"({us_only:.0%} vs {eu_only:.0%}); using decimal '{dec}'")
    if (has_comma | has_dot).any():  # only values such as "1,234" or "1.234": either reading
        dec = prefer or "."
        sep = "," if has_comma.any() else "."
        return NumberLocale(dec, "," if dec == "." else ".",
                            ambiguity=f"values like '{values[has_comma | has_dot].iat[0]}' read "
                                      f"as thousands or as decimals ('{sep}'); using decimal "
                                      f"'{dec}' (set decimal_separator to decide)")
    return NumberLocale(".", None)


def parse_numbers(values: pd.Series, loc: NumberLocale) -> pd.Series:
    """Float values of number strings in the given locale (NaN where not a number)."""
    text = values.astype("str")
    if loc.thousands:
        text = text.str.replace(loc.thousands, "", regex=False)
    for ch in SPACES:
        text = text.str.replace(ch, "", regex=False)
    if loc.decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def _number_guess(values: pd.Series, weights: np.ndarray, numeric_mask: np.ndarray,
                  name: str, prefer: str | None) -> TypeGuess:
    vals, w = values[numeric_mask], weights[numeric_mask]
    loc = decide_locale(vals, w, prefer)
    parsed = parse_numbers(vals, loc).to_numpy(dtype=float, na_value=np.nan)
    frac = vals.str.extract(rf"\{loc.decimal}(\d+)$", expand=False)
    has_frac = frac.notna().to_numpy()
    sci = _match(vals, RE_SCI)
    attrs: dict[str, Any] = {"decimal_separator": loc.decimal,
                             "thousands_separator": loc.thousands}
    guess = TypeGuess("integer", attrs=attrs, ambiguity=loc.ambiguity)
    if has_frac.any() or sci.any():
        scales = frac[has_frac].str.len()
        integral = np.isfinite(parsed) & (np.floor(parsed) == parsed)
        if not sci.any() and scales.nunique() == 1 and int(scales.iat[0]) <= 4:
            scale = int(scales.iat[0])
            digits = vals.str.count(r"\d").max()
            guess.semantic_type = "decimal"
            attrs.update(precision=int(max(digits, scale + 1)), scale=scale)
        elif integral.all() and not sci.any():
            guess.semantic_type = "integer"
        else:
            guess.semantic_type = "float"
    elif vals.str.match(r"^[+-]?0\d").any():  # leading zeros: codes, not quantities
        guess.semantic_type = "identifier"
    if guess.semantic_type == "integer" and HINT_PERCENT.search(name):
        guess.semantic_type = "percentage"
    return guess


# --- dates -----------------------------------------------------------------------------------

def _parse_ratio(values: pd.Series, weights: np.ndarray, fmt: str) -> tuple[float, np.ndarray]:
    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc="%z" in fmt)
    ok = parsed.notna().to_numpy()
    return _ratio(ok, weights), ok


def _date_guess(values: pd.Series, weights: np.ndarray, threshold: float,
                dayfirst: bool | None, time_only: bool) -> TypeGuess | None:
    formats = TIME_FORMATS if time_only else DATE_FORMATS + DATETIME_FORMATS
    probe = values.iloc[:: max(1, len(values) // 100)]
    candidates = [f for f in formats
                  if pd.to_datetime(probe, format=f, errors="coerce",
                                    utc="%z" in f).notna().any()]
    if not candidates:
        return None
    scored = []
    for fmt in candidates:
        r, ok = _parse_ratio(values, weights, fmt)
        scored.append((r, fmt, ok))
    scored.sort(key=lambda t: -t[0])
    best_r, best_fmt, best_ok = scored[0]
    union = best_ok.copy()
    others: list[tuple[str, float]] = []
    for r, fmt, ok in scored[1:]:
        if r > 0 and (ok & ~union).any():
            others.append((fmt, _ratio(ok & ~union, weights)))
            union |= ok
    covered = _ratio(union, weights)
    if covered < threshold:
        return None
    kind = "time" if time_only else ("datetime" if "%H" in best_fmt or "%I" in best_fmt
                                     else "date")
    guess = TypeGuess(kind, confidence=covered, attrs={"format": best_fmt})
    # Day-first vs month-first: the swapped format fitting exactly as well is ambiguity.
    swapped = _swap_day_month(best_fmt)
    if swapped:
        twin = next((t for t in scored if t[1] == swapped), None)
        if twin is not None and twin[0] >= best_r - 1e-12:
            pick_day = bool(dayfirst)  # no evidence either way: month-first unless told
            chosen = best_fmt if best_fmt.startswith("%d") == pick_day else swapped
            guess.attrs["format"] = chosen
            guess.ambiguity = (f"day-first ({_dayfirst_of(best_fmt, swapped)}) and month-first "
                               f"({_monthfirst_of(best_fmt, swapped)}) both fit every value; "
                               f"using {chosen} (set dayfirst to decide)")
            others = [(f, r) for f, r in others if f != swapped]
    if others and best_r < 0.999:
        listed = ", ".join(f"{f} ({r:.0%})" for f, r in others[:3])
        guess.issues.append(("inconsistent_date_formats",
                             f"{best_fmt} ({best_r:.0%}) and also {listed}", None))
        guess.attrs["other_formats"] = [f for f, _ in others[:3]]
    if "%z" in guess.attrs["format"]:
        parsed = pd.to_datetime(values[best_ok], format=best_fmt, errors="coerce", utc=True)
        offsets = values[best_ok].str.extract(r"(Z|[+-]\d{2}:?\d{2})$", expand=False).dropna()
        uniq = sorted({"UTC" if o in ("Z", "+00:00", "+0000") else o for o in offsets})
        guess.attrs["timezone"] = uniq[0] if len(uniq) == 1 else "mixed offsets: " + ", ".join(
            uniq[:5])
        del parsed
    guess.unmatched = values[~union].head(3).tolist()
    return guess


def _swap_day_month(fmt: str) -> str | None:
    if "%d" in fmt and "%m" in fmt:
        return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    return None


def _dayfirst_of(a: str, b: str) -> str:
    return a if a.index("%d") < a.index("%m") else b


def _monthfirst_of(a: str, b: str) -> str:
    return b if a.index("%d") < a.index("%m") else a


# --- the chain -------------------------------------------------------------------------------

def _is_json(text: str) -> bool:
    return isinstance(json.loads(text), dict | list)


def _is_ip(text: str) -> bool:
    ipaddress.ip_address(text)
    return True


def _phone_guess(values: pd.Series, weights: np.ndarray, mask: np.ndarray,
                 regions: list[str]) -> tuple[float, str | None]:
    import phonenumbers

    idx = np.flatnonzero(mask)[:300]
    if not len(idx):
        return 0.0, None
    best_ok, best_region = np.zeros(len(values), dtype=bool), None
    for region in [None, *regions]:
        ok = np.zeros(len(values), dtype=bool)
        found: dict[str, int] = {}
        for i in idx:
            text = values.iat[i]
            if region is None and not text.startswith("+"):
                continue
            try:
                num = phonenumbers.parse(text, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(num):
                ok[i] = True
                code = phonenumbers.region_code_for_country_code(num.country_code) or region
                if code:
                    found[code] = found.get(code, 0) + 1
        if ok.sum() > best_ok.sum():
            best_ok = ok
            best_region = max(found, key=found.__getitem__) if found else region
    seen = np.zeros(len(values), dtype=bool)
    seen[idx] = True
    return _ratio(best_ok[seen], weights[seen]), best_region


def infer_strings(values: pd.Series, weights: np.ndarray, *, name: str, n_unique: int,
                  n_nonnull: int, threshold: float = 0.95, max_categories: int = 50,
                  dayfirst: bool | None = None, decimal_separator: str | None = None,
                  phone_regions: list[str] | None = None) -> TypeGuess:
    """The semantic type of a string column.

    `values`: distinct stripped non-null strings (or a sample of them), `weights`: rows per
    value; `n_unique`/`n_nonnull`: exact figures of the whole column.
    """
    lname = name.lower().replace(" ", "_").replace("-", "_")
    values = values.astype("str").reset_index(drop=True)
    if len(values) <= SMALL:  # object dtype: cheap tolist() for the Python-side matching
        values = pd.Series(values.tolist(), dtype=object)
    weights = np.asarray(weights, dtype=float)
    if not len(values):
        return TypeGuess("empty", confidence=1.0)

    def result(kind: str, mask: np.ndarray, **attrs: Any) -> TypeGuess:
        r = _ratio(mask, weights)
        g = TypeGuess(kind, confidence=round(r, 4), attrs=attrs)
        g.unmatched = values[~np.asarray(mask, dtype=bool)].head(3).tolist()
        return g

    items = values.tolist()
    lower = [v.lower() for v in items]
    # json
    jmask = np.fromiter((v[:1] in ("{", "[") for v in items), dtype=bool, count=len(items))
    if _ratio(jmask, weights) >= threshold:
        ok = _validated(values, jmask, _is_json, limit=200)
        if _ratio(ok, weights) >= threshold:
            return result("json", ok)
    for kind, pattern in (("uuid", RE_UUID), ("email", RE_EMAIL), ("url", RE_URL)):
        m = _match(values, pattern)
        if _ratio(m, weights) >= threshold:
            return result(kind, m)
    ipm = _match(values, RE_IPV4) | (_match(values, RE_IPV6) & ~_match(values, RE_TIMEISH))
    if _ratio(ipm, weights) >= threshold:
        ok = _validated(values, ipm, _is_ip)
        if _ratio(ok, weights) >= threshold:
            return result("ip_address", ok)
    # boolean
    bmask = isin(lower, TRUE_TOKENS | FALSE_TOKENS)
    seen = {v for v, b in zip(lower, bmask, strict=True) if b}
    if (_ratio(bmask, weights) >= threshold and len(seen) <= 2 and n_unique <= 6
            and len(seen & TRUE_TOKENS) <= 1 and len(seen & FALSE_TOKENS) <= 1):
        g = result("boolean", bmask,
                   true_values=sorted({v for v in values[bmask] if v.lower() in TRUE_TOKENS}),
                   false_values=sorted({v for v in values[bmask]
                                        if v.lower() in FALSE_TOKENS}))
        if seen <= {"1", "0"}:
            g.ambiguity = "only 1 and 0 occur: read as boolean, could be an integer flag"
        return g
    # percentage
    pmask = _match(values, RE_PERCENT)
    if _ratio(pmask, weights) >= threshold:
        loc = decide_locale(values[pmask].str.replace(r"\s?%$", "", regex=True), weights[pmask],
                            decimal_separator)
        g = result("percentage", pmask, decimal_separator=loc.decimal,
                   thousands_separator=loc.thousands)
        g.ambiguity = loc.ambiguity
        return g
    # currency (a symbol or code must be present)
    money = _contains(values, f"[{CURRENCY_SYMBOLS}]|{CURRENCY_CODES}|kr$")
    cur = values.str.extract(RE_CURRENCY) if _ratio(money, weights) >= threshold else None
    cmask = (cur["pre"].notna() | cur["post"].notna()).to_numpy() if cur is not None else money
    if cur is not None and _ratio(cmask, weights) >= threshold:
        symbols = pd.concat([cur["pre"], cur["post"]]).dropna().str.strip()
        nums = cur["num"][cmask].str.strip()
        loc = decide_locale(nums, weights[cmask], decimal_separator)
        g = result("currency", cmask, currency_symbol=symbols.mode().iat[0],
                   decimal_separator=loc.decimal, thousands_separator=loc.thousands)
        g.ambiguity = loc.ambiguity
        if symbols.nunique() > 1:
            g.issues.append(("mixed_types", "several currencies: "
                             + ", ".join(sorted(symbols.unique())[:5]), None))
        return g
    # postal codes with letters or dashes (unambiguous shapes)
    for region, pattern in POSTAL.items():
        m = _match(values, pattern)
        if region != "US" and _ratio(m, weights) >= threshold:
            return result("postal_code", m, region=region)
    us_zip = _match(values, POSTAL["US"])
    if _ratio(us_zip, weights) >= threshold and (
            HINT_POSTAL.search(lname) or values.str.contains("-").any()
            or (values.str.startswith("0").any() and values.str.len().eq(5).all())):
        return result("postal_code", us_zip, region="US")
    if _ratio(_match(values, RE_DIGITS_4_6), weights) >= threshold and HINT_POSTAL.search(lname):
        return result("postal_code", _match(values, RE_DIGITS_4_6), region=None)
    # phone: needs a + or separators, or a phone-like column name
    phm = _match(values, RE_PHONE) & (_contains(values, RE_PHONE_SEP.pattern)
                                      | bool(HINT_PHONE.search(lname)))
    if _ratio(phm, weights) >= threshold and not _match(values, RE_DATEISH).all():
        r, region = _phone_guess(values, weights, phm, phone_regions or ["US", "GB", "DE", "FR"])
        if r >= threshold:
            return result("phone", phm, region=region)
    # numbers
    nmask = (_match(values, RE_US) | _match(values, RE_EU) | _match(values, RE_SCI)
             | _match(values, RE_DOT_FLOAT))
    nratio = _ratio(nmask, weights)
    if nratio >= threshold:
        is_int8 = values.str.fullmatch(r"\d{8}").all()
        if not (is_int8 and HINT_DATE.search(lname)):
            g = _number_guess(values, weights, nmask, lname, decimal_separator)
            g.confidence = round(nratio, 4)
            g.unmatched = values[~nmask].head(3).tolist()
            if g.semantic_type == "integer" and HINT_ID.search(lname) and n_unique >= 0.9 * (
                    n_nonnull or 1):
                g.semantic_type = "identifier"
            return g
    # dates, datetimes, times
    tmask = _match(values, RE_TIMEISH)
    if _ratio(tmask, weights) >= threshold:
        g = _date_guess(values, weights, threshold, dayfirst, time_only=True)
        if g is not None:
            return g
    dmask = _contains(values, RE_DATEISH.pattern)
    if _ratio(dmask, weights) >= threshold:
        g = _date_guess(values, weights, threshold, dayfirst, time_only=False)
        if g is not None:
            return g
    # countries
    cm = isin(items, country_codes())
    if _ratio(cm, weights) < threshold and any(len(v) > 3 for v in items):
        cm = cm | isin(lower, country_names())
    if _ratio(cm, weights) >= threshold and (n_unique >= 2 or len(values.iat[0]) > 2):
        g = result("country", cm)
        g.attrs["categories"] = sorted(values.unique().tolist())[:max_categories]
        return g
    guess: TypeGuess
    unique_ratio = n_unique / n_nonnull if n_nonnull else 0.0
    if n_unique <= max_categories and (unique_ratio <= 0.5 or n_unique <= 3) and n_nonnull > 1:
        guess = TypeGuess("categorical", attrs={"categories": sorted(values.unique().tolist())})
    elif _looks_like_identifier(values, weights, lname, unique_ratio):
        guess = TypeGuess("identifier", confidence=round(unique_ratio, 4))
    else:
        guess = TypeGuess("free_text", confidence=1.0)
    if 0.5 <= nratio < threshold:
        guess.issues.append(("mixed_types", f"{nratio:.0%} of values are numbers, the rest "
                             "text (e.g. " + ", ".join(repr(v) for v in values[~nmask].head(3))
                             + ")", None))
        guess.unmatched = values[~nmask].head(3).tolist()
    return guess


def _looks_like_identifier(values: pd.Series, weights: np.ndarray, lname: str,
                           unique_ratio: float) -> bool:
    if HINT_ID.search(lname) and unique_ratio >= 0.9:
        return True
    if unique_ratio < 0.98:
        return False
    no_space = ~_contains(values, r"\s")
    lengths = np.fromiter((len(v) for v in values.tolist()), dtype=float, count=len(values))
    return (_ratio(no_space, weights) >= 0.95 and lengths.max() <= 64
            and lengths.std() <= max(2.0, 0.25 * lengths.mean()))
