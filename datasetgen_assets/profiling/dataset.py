"""Dataset-level facts: duplicate rows, candidate primary keys (single and composite) and
foreign keys to other datasets (value inclusion + name similarity)."""

from __future__ import annotations

import difflib
import itertools

import numpy as np
import pandas as pd

from datasetgen_assets.profiling.schema import ColumnProfile, DatasetProfile, ForeignKey

NOT_KEY_TYPES = frozenset({"float", "free_text", "json", "empty", "boolean", "percentage",
                           "currency"})
KEY_PREFERENCE = {"identifier": 0, "uuid": 1, "integer": 2, "email": 3}
MAX_KEY_CANDIDATES = 8
MAX_KEYS = 5
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorized (uint64 arithmetic wraps)."""
    z = x.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def code_hash(codes: np.ndarray, position: int) -> np.ndarray:
    """A uint64 per row from a column's factorize codes (equal values, equal numbers; nulls
    equal), salted by the column's position; `combine` mixes them."""
    with np.errstate(over="ignore"):
        return codes.astype(np.int64).view(np.uint64) + np.uint64(position + 1) * _GOLD


def combine(hashes: list[np.ndarray]) -> np.ndarray:
    """A row hash from several column hashes."""
    acc = _mix(hashes[0])
    for h in hashes[1:]:
        acc = _mix(acc ^ h)
    return acc


def duplicate_rows(hashes: list[np.ndarray], n: int) -> int:
    """Rows equal to an earlier row (by hash of all columns)."""
    if not hashes or n < 2:
        return 0
    return int(pd.Series(combine(hashes)).duplicated().sum())


def _unique(h: np.ndarray) -> bool:
    probe = h[:10_000]
    if len(pd.unique(probe)) < len(probe):
        return False
    return len(pd.unique(h)) == len(h)


def candidate_keys(columns: list[ColumnProfile], hashes: list[np.ndarray], n: int,
                   max_width: int) -> list[list[str]]:
    """Single columns that are unique and never null; else the narrowest unique combinations
    of up to `max_width` columns."""
    if n < 2:
        return []
    keys = [[c.name] for c in sorted(columns, key=lambda c: KEY_PREFERENCE.get(c.semantic_type, 9))
            if c.null_count == 0 and c.unique_count == n
            and c.semantic_type not in NOT_KEY_TYPES | {"date", "datetime", "time"}]
    if keys:
        return keys[:MAX_KEYS]
    pool = sorted(
        (i for i, c in enumerate(columns)
         if c.null_count == 0 and c.semantic_type not in NOT_KEY_TYPES and c.unique_count > 1),
        key=lambda i: -columns[i].unique_count,
    )[:MAX_KEY_CANDIDATES]
    found: list[list[str]] = []
    for width in range(2, max_width + 1):
        for combo in itertools.combinations(pool, width):
            if np.prod([float(columns[i].unique_count) for i in combo]) < n:
                continue
            if any(set(k) <= {columns[i].name for i in combo} for k in found):
                continue
            if _unique(combine([hashes[i] for i in combo])):
                found.append([columns[i].name for i in combo])
                if len(found) >= MAX_KEYS:
                    return found
        if found:
            break
    return found


def _singular(word: str) -> str:
    word = word.lower()
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses") or word.endswith("xes"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def name_similarity(child: str, dataset: str, key: str) -> float:
    """How well `child` names `dataset`.`key` (customer_id ~ customers.id)."""
    c = child.lower()
    ds = _singular(dataset)
    names = {key.lower(), f"{ds}_{key.lower()}", f"{ds}{key.lower()}", f"{dataset.lower()}_"
             f"{key.lower()}"}
    return max(difflib.SequenceMatcher(None, c, n).ratio() for n in names)


def _values(s: pd.Series) -> np.ndarray:
    s = s.dropna()
    if pd.api.types.is_float_dtype(s.dtype) and len(s) and (np.floor(s) == s).all():
        s = s.astype("int64")
    return s.astype("str").str.strip().unique()


def foreign_keys(child: DatasetProfile, child_df: pd.DataFrame,
                 others: dict[str, tuple[pd.DataFrame, DatasetProfile]],
                 min_inclusion: float, min_similarity: float = 0.6) -> list[ForeignKey]:
    """Columns of `child` whose values lie in a single-column key of another dataset and whose
    name points at it."""
    out: list[ForeignKey] = []
    own_keys = {k[0] for k in child.primary_keys if len(k) == 1}
    for ref_name, (ref_df, ref_prof) in others.items():
        for key in (k[0] for k in ref_prof.primary_keys if len(k) == 1):
            if key not in ref_df.columns:
                continue
            parent = None
            for col in child.columns:
                if col.count == 0 or col.semantic_type in NOT_KEY_TYPES - {"boolean"}:
                    continue
                sim = name_similarity(col.name, ref_name, key)
                if sim < min_similarity:
                    continue
                if col.name in own_keys and not col.name.lower().startswith(
                        _singular(ref_name)):
                    continue
                if parent is None:
                    parent = _values(ref_df[key])
                vals = _values(child_df[col.name])
                if not len(vals):
                    continue
                inclusion = float(np.isin(vals, parent).mean())
                if inclusion >= min_inclusion:
                    out.append(ForeignKey(column=col.name, references=ref_name,
                                          referenced_column=key, inclusion=round(inclusion, 4),
                                          name_similarity=round(sim, 3)))
    return out
