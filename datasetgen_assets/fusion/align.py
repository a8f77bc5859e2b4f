"""Entity alignment: each input indexed by its key column (checked: present, one type across
inputs, unique), the entities each modality covers, and who is kept (drop: all modalities
present; fill: any)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from datasetgen_assets.errors import StepInputError, did_you_mean

if TYPE_CHECKING:
    from datasetgen_assets.steps.fusion import FusionConfig, Modality


def key_kind(s: pd.Series) -> str:
    """number | string | datetime | bool: the key types that can match each other."""
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "string"


def check_inputs(config: FusionConfig, frames: list[pd.DataFrame]) -> None:
    """One input per modality, every named column present, one key type across inputs."""
    if len(frames) != len(config.modalities):
        raise StepInputError(
            f"fusion: {len(frames)} inputs but {len(config.modalities)} modalities",
            fix="declare one modality per input, in depends_on order")
    kinds: dict[str, str] = {}
    for m, frame in zip(config.modalities, frames, strict=True):
        cols = [str(c) for c in frame.columns]
        wanted = [(config.key_of(m), "key"), *((c, "columns") for c in m.columns)]
        wanted += [(c, f) for c, f in ((m.image_column, "image_column"),
                                       (m.prediction, "prediction")) if c]
        for col, field in wanted:
            if col not in frame.columns:
                raise StepInputError(
                    f"fusion: modality '{m.name}', {field}: unknown column '{col}'."
                    f"{did_you_mean(col, cols)} Its input has: {', '.join(cols[:20])}",
                    fix="name a column of this modality's input (inputs follow depends_on"
                        " order), or set the modality's `key`")
        kinds[m.name] = key_kind(frame[config.key_of(m)])
    if len(set(kinds.values())) > 1:
        shown = ", ".join(f"{n}: {k}" for n, k in kinds.items())
        raise StepInputError(f"fusion: the key columns have different types ({shown})",
                             fix="cast them to one type first (select step, cast: {key: str})")


def by_key(m: Modality, frame: pd.DataFrame, key: str) -> tuple[pd.DataFrame, int]:
    """The input indexed by its key (rows with a null key dropped: their count returned);
    duplicate keys are an error."""
    nulls = int(frame[key].isna().sum())
    f = frame[frame[key].notna()]
    dup = f[key].duplicated(keep=False)
    if dup.any():
        example = f.loc[dup, key].tolist()[0]
        raise StepInputError(
            f"fusion: modality '{m.name}' has {int(f[key].duplicated().sum())} duplicate"
            f" key(s) in '{key}' (e.g. {example!r}); fusion needs one row per entity",
            fix="aggregate the input per key first (aggregate step), or deduplicate it")
    f = f.set_index(key, drop=False)
    f.index.name = None
    return f, nulls


def entities(present: dict[str, pd.Index], how: str, key: str) -> pd.Index:
    """The entities kept, in first-seen order over the modalities."""
    names = list(present)
    union = present[names[0]]
    for n in names[1:]:
        union = union.append(present[n][~present[n].isin(union)])
    if how == "fill":
        lonely = [n for n in names if not any(present[n].isin(present[o]).any()
                                              for o in names if o != n)]
        if lonely:
            raise StepInputError(
                f"fusion: {'modalities' if len(lonely) > 1 else 'modality'}"
                f" {', '.join(repr(n) for n in lonely)} share{'' if len(lonely) > 1 else 's'}"
                f" no '{key}' value with any other modality",
                fix="check the key columns hold the same identifiers (type, case, padding)")
        return union
    keep = union
    for n in names:
        keep = keep[keep.isin(present[n])]
    if not len(keep):
        raise StepInputError(
            f"fusion: no entity ('{key}') is present in every modality"
            f" ({', '.join(f'{n}: {len(present[n])}' for n in names)} entities)",
            fix="set missing: fill to keep entities with some modalities missing, or check"
                " the key columns hold the same identifiers")
    return keep


def coverage(present: dict[str, pd.Index], universe: pd.Index) -> dict[str, float]:
    """Share of all entities (the union over modalities) each modality covers."""
    n = len(universe)
    return {name: round(len(idx) / n, 6) if n else 0.0 for name, idx in present.items()}
