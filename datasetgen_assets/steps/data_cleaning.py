"""`data_cleaning`: fix common problems, in the order given, reporting every change.

Operations: remove_duplicates (exact, by key, fuzzy), strip_whitespace, standardize_case,
handle_missing (drop, mean, median, mode, constant, ffill, model), fix_types (from the
profile), standardize_formats (ISO dates, E.164 phones, lowercase emails) and remove_outliers
(z-score, IQR, IsolationForest; drop or clip). Each reports the rows or cells it changed.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from datasetgen_assets.quality.pii_regex import is_text
from datasetgen_assets.steps.registry import (
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

Operation = Literal["remove_duplicates", "strip_whitespace", "standardize_case", "handle_missing",
                    "fix_types", "standardize_formats", "remove_outliers"]
_DATE_NAME = re.compile(r"date|_at$|^dob$|birth", re.I)
_PHONE_NAME = re.compile(r"phone|tel|mobile|fax", re.I)
_EMAIL_NAME = re.compile(r"e-?mail", re.I)
EXAMPLES = 5


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Duplicates(_Op):
    mode: Literal["exact", "key", "fuzzy"] = "exact"
    key: list[str] = Field(default_factory=list, description="mode key: the key columns.")
    columns: list[str] = Field(default_factory=list, description="mode fuzzy: compared text.")
    threshold: float = Field(92.0, ge=0, le=100, description="mode fuzzy: rapidfuzz ratio.")

    @model_validator(mode="after")
    def _needs(self) -> Duplicates:
        if self.mode == "key" and not self.key:
            raise ValueError("duplicates.mode key needs 'key' columns")
        if self.mode == "fuzzy" and not self.columns:
            raise ValueError("duplicates.mode fuzzy needs 'columns'")
        return self


class Case(_Op):
    columns: list[str] | None = Field(None, description="Default: every text column.")
    to: Literal["lower", "upper", "title"] = "lower"


class Missing(_Op):
    strategy: Literal["drop", "mean", "median", "mode", "constant", "ffill", "model"] = "median"
    columns: list[str] | None = Field(None, description="Default: every column with nulls.")
    value: Any = Field(None, description="strategy constant: the fill value.")

    @model_validator(mode="after")
    def _value(self) -> Missing:
        if self.strategy == "constant" and self.value is None:
            raise ValueError("missing.strategy constant needs 'value'")
        return self


class Formats(_Op):
    date_columns: list[str] | None = Field(None, description="Default: names with date/_at.")
    phone_columns: list[str] | None = Field(None, description="Default: names with phone/tel.")
    email_columns: list[str] | None = Field(None, description="Default: names with email.")
    phone_region: str = Field("US", min_length=2, max_length=2,
                              description="Region of numbers without +country.")


class Outliers(_Op):
    method: Literal["zscore", "iqr", "isolation_forest"] = "iqr"
    threshold: float | None = Field(None, gt=0, description="z (3.0) or IQR factor (1.5).")
    columns: list[str] | None = None
    action: Literal["drop", "clip"] = "drop"
    contamination: float | Literal["auto"] = "auto"

    @model_validator(mode="after")
    def _valid(self) -> Outliers:
        if self.contamination != "auto" and not 0 < float(self.contamination) <= 0.5:
            raise ValueError("outliers.contamination must be 'auto' or in (0, 0.5]")
        if self.action == "clip" and self.method == "isolation_forest":
            raise ValueError("outliers.action clip needs zscore or iqr bounds")
        return self


class CleaningConfig(StepConfig):
    operations: list[Operation] = Field(min_length=1, description="Applied in this order.")
    duplicates: Duplicates = Field(default_factory=Duplicates)
    case: Case = Field(default_factory=Case)
    missing: Missing = Field(default_factory=Missing)
    formats: Formats = Field(default_factory=Formats)
    outliers: Outliers = Field(default_factory=Outliers)

    def named_columns(self) -> list[tuple[str, list[str]]]:
        f = self.formats
        return [(name, cols) for name, cols in (
            ("duplicates.key", self.duplicates.key),
            ("duplicates.columns", self.duplicates.columns),
            ("case.columns", self.case.columns), ("missing.columns", self.missing.columns),
            ("formats.date_columns", f.date_columns), ("formats.phone_columns", f.phone_columns),
            ("formats.email_columns", f.email_columns), ("outliers.columns", self.outliers.columns),
        ) if cols]


def _rows(mask: pd.Series) -> list[Any]:
    return [int(i) if isinstance(i, int | np.integer) else str(i) for i in mask[mask].index[:5]]


def _changed(before: pd.Series, after: pd.Series) -> int:
    same = (before == after).fillna(False).astype(bool) | (before.isna() & after.isna())
    return int((~same).sum())


def remove_duplicates(df: pd.DataFrame, cfg: Duplicates) -> tuple[pd.DataFrame, dict[str, Any]]:
    if cfg.mode == "fuzzy":
        from datasetgen_assets.quality.families import near_duplicates

        drop = df.duplicated(subset=cfg.columns) | near_duplicates(df, cfg.columns, cfg.threshold,
                                                                   max_values=len(df) or 1)
    else:
        drop = df.duplicated(subset=cfg.key if cfg.mode == "key" else None, keep="first")
    return df[~drop], {"mode": cfg.mode, "rows_removed": int(drop.sum()),
                       "removed_rows": _rows(drop)}


def strip_whitespace(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    out, changed = df.copy(), {}
    for col in [c for c in df.columns if is_text(df[c])]:
        s = df[col]
        new = s.map(lambda v: v.strip() if isinstance(v, str) else v) if s.dtype == object \
            else s.str.strip()
        if n := _changed(s, new):
            out[col] = new
            changed[str(col)] = n
    return out, {"cells_changed": sum(changed.values()), "columns": changed}


def standardize_case(df: pd.DataFrame, cfg: Case) -> tuple[pd.DataFrame, dict[str, Any]]:
    out, changed = df.copy(), {}
    cols = cfg.columns if cfg.columns is not None else [c for c in df.columns if is_text(df[c])]
    for col in cols:
        s = df[col]
        fn = {"lower": str.lower, "upper": str.upper, "title": str.title}[cfg.to]
        new = s.map(lambda v, fn=fn: fn(v) if isinstance(v, str) else v)
        if n := _changed(s, new):
            out[col] = new.astype(s.dtype) if s.dtype != object else new
            changed[str(col)] = n
    return out, {"to": cfg.to, "cells_changed": sum(changed.values()), "columns": changed}


def handle_missing(df: pd.DataFrame, cfg: Missing) -> tuple[pd.DataFrame, dict[str, Any]]:
    cols = cfg.columns if cfg.columns is not None else [c for c in df.columns
                                                        if df[c].isna().any()]
    if cfg.strategy == "drop":
        drop = df[cols].isna().any(axis=1) if cols else pd.Series(False, index=df.index)
        return df[~drop], {"strategy": "drop", "rows_removed": int(drop.sum()),
                           "removed_rows": _rows(drop)}
    out, filled, skipped = df.copy(), {}, {}
    numeric = [c for c in cols if pd.api.types.is_numeric_dtype(df[c])
               and not pd.api.types.is_bool_dtype(df[c])]
    if cfg.strategy == "model" and numeric:
        from sklearn.impute import KNNImputer

        values = KNNImputer(n_neighbors=5).fit_transform(df[numeric].astype("float64"))
        for i, col in enumerate(numeric):
            filled[str(col)] = int(df[col].isna().sum())
            out[col] = values[:, i]
    for col in cols:
        s, n = df[col], int(df[col].isna().sum())
        if not n or (cfg.strategy == "model" and col in numeric):
            continue
        strategy = "mode" if cfg.strategy == "model" else cfg.strategy
        if strategy in {"mean", "median"} and col not in numeric:
            skipped[str(col)] = f"{strategy} needs numbers; use mode or constant"
            continue
        if strategy == "ffill":
            new = s.ffill()
        else:
            fill = (cfg.value if strategy == "constant" else getattr(s, strategy)()
                    if strategy in {"mean", "median"} else s.mode(dropna=True))
            if strategy == "mode":
                if fill.empty:
                    skipped[str(col)] = "no values to take the mode of"
                    continue
                fill = fill.iloc[0]
            new = s.fillna(fill)
        filled[str(col)] = n - int(new.isna().sum())
        out[col] = new
    return out, {"strategy": cfg.strategy, "cells_changed": sum(filled.values()),
                 "columns": filled, "skipped": skipped}


def fix_types(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Convert columns to their profiled types (datasetgen_assets.profiling); cells that do not
    convert are counted, not hidden."""
    try:
        from datasetgen_assets.profiling import coerce_to_profile, profile_frame
    except ImportError:  # the profiling package is optional
        return _fix_types_fallback(df)
    out = coerce_to_profile(df, profile_frame(df))
    changed = {str(c): f"{df[c].dtype} -> {out[c].dtype}" for c in df.columns
               if str(df[c].dtype) != str(out[c].dtype)}
    return out, {"engine": "profile", "columns": changed,
                 "cells_not_converted": dict(out.attrs.get("coerce_failures", {}))}


def _fix_types_fallback(df: pd.DataFrame, share: float = 0.95) -> tuple[pd.DataFrame,
                                                                        dict[str, Any]]:
    """Text columns of numbers or dates (at least `share` of the values) are converted."""
    out, changed, failed = df.copy(), {}, {}
    for col in [c for c in df.columns if is_text(df[c])]:
        s = df[col].where(df[col].astype(str).str.strip() != "")
        have = s.notna()
        if not have.any():
            continue
        for conv in (lambda x: pd.to_numeric(x, errors="coerce"),
                     lambda x: pd.to_datetime(x, errors="coerce", format="mixed")):
            try:
                new = conv(s)
            except (TypeError, ValueError):
                continue
            ok = float((new.notna() & have).sum() / have.sum())
            if ok >= share:
                out[col] = new
                changed[str(col)] = f"{df[col].dtype} -> {new.dtype}"
                if lost := int((have & new.isna()).sum()):
                    failed[str(col)] = lost
                break
    return out, {"engine": "fallback", "columns": changed, "cells_not_converted": failed}


def _auto(df: pd.DataFrame, given: list[str] | None, pattern: re.Pattern[str]) -> list[str]:
    if given is not None:
        return given
    return [c for c in df.columns if is_text(df[c]) and pattern.search(str(c))]


def _iso_date(v: Any) -> Any:
    try:
        return pd.Timestamp(v).strftime("%Y-%m-%d") if isinstance(v, str) and v.strip() else v
    except (ValueError, TypeError, OverflowError):
        return v


def standardize_formats(df: pd.DataFrame, cfg: Formats) -> tuple[pd.DataFrame, dict[str, Any]]:
    import phonenumbers

    def e164(v: Any) -> Any:
        if not isinstance(v, str) or not v.strip():
            return v
        try:
            num = phonenumbers.parse(v, cfg.phone_region)
        except phonenumbers.NumberParseException:
            return v
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) \
            if phonenumbers.is_valid_number(num) else v

    out, changed, unparsed = df.copy(), {}, {}
    jobs = [(c, _iso_date) for c in _auto(df, cfg.date_columns, _DATE_NAME)]
    jobs += [(c, e164) for c in _auto(df, cfg.phone_columns, _PHONE_NAME)]
    jobs += [(c, lambda v: v.strip().lower() if isinstance(v, str) else v)
             for c in _auto(df, cfg.email_columns, _EMAIL_NAME)]
    for col, fn in jobs:
        s = df[col]
        if not is_text(s):
            continue
        distinct = s.dropna().unique()
        mapping = {v: fn(v) for v in distinct}
        new = s.map(mapping).where(s.notna(), s)
        if fn in (_iso_date, e164) and (n_bad := sum(
                1 for v in distinct if mapping[v] == v and not _is_canonical(fn, v))):
            unparsed[str(col)] = n_bad  # could not be parsed: kept as they were
        if n := _changed(s, new):
            out[col] = new
            changed[str(col)] = n
    return out, {"cells_changed": sum(changed.values()), "columns": changed,
                 "distinct_values_left_as_is": unparsed}


def _is_canonical(fn: Any, v: str) -> bool:
    if fn is _iso_date:
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v))
    return bool(re.fullmatch(r"\+\d{7,15}", v))


def remove_outliers(df: pd.DataFrame, cfg: Outliers) -> tuple[pd.DataFrame, dict[str, Any]]:
    cols = [c for c in (cfg.columns or df.columns) if pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]
    if not cols or df.empty:
        return df, {"method": cfg.method, "rows_removed": 0}
    if cfg.method == "isolation_forest":
        from sklearn.ensemble import IsolationForest

        x = df[cols].astype("float64")
        x = x.fillna(x.median()).fillna(0.0).to_numpy()
        model = IsolationForest(contamination=cfg.contamination, random_state=0)
        drop = pd.Series(model.fit(x).predict(x) == -1, index=df.index)
        return df[~drop], {"method": cfg.method, "rows_removed": int(drop.sum()),
                           "removed_rows": _rows(drop)}
    out, drop, clipped = df.copy(), pd.Series(False, index=df.index), {}
    for col in cols:
        x = df[col].astype("float64")
        if cfg.method == "zscore":
            k = cfg.threshold or 3.0
            lo, hi = x.mean() - k * x.std(), x.mean() + k * x.std()
        else:
            q1, q3 = x.quantile(0.25), x.quantile(0.75)
            k = (cfg.threshold or 1.5) * (q3 - q1)
            lo, hi = q1 - k, q3 + k
        bad = ((x < lo) | (x > hi)).fillna(False).astype(bool)
        if cfg.action == "clip":
            if n := int(bad.sum()):
                out[col] = x.clip(lo, hi)
                clipped[str(col)] = n
        else:
            drop |= bad
    if cfg.action == "clip":
        return out, {"method": cfg.method, "action": "clip",
                     "cells_changed": sum(clipped.values()), "columns": clipped}
    return df[~drop], {"method": cfg.method, "rows_removed": int(drop.sum()),
                       "removed_rows": _rows(drop)}


def run(inputs: list[pd.DataFrame], config: CleaningConfig, ctx: StepContext) -> StepResult:
    df = inputs[0]
    steps: list[dict[str, Any]] = []
    for op in config.operations:
        before = len(df)
        if op == "remove_duplicates":
            df, info = remove_duplicates(df, config.duplicates)
        elif op == "strip_whitespace":
            df, info = strip_whitespace(df)
        elif op == "standardize_case":
            df, info = standardize_case(df, config.case)
        elif op == "handle_missing":
            df, info = handle_missing(df, config.missing)
        elif op == "fix_types":
            df, info = fix_types(df)
        elif op == "standardize_formats":
            df, info = standardize_formats(df, config.formats)
        else:
            df, info = remove_outliers(df, config.outliers)
        steps.append({"operation": op, "rows_before": before, "rows_after": len(df), **info})
        ctx.log.info("data_cleaning %s: %s", op, {k: v for k, v in info.items()
                                                  if k in {"rows_removed", "cells_changed"}})
    return StepResult(df.reset_index(drop=True), {
        "rows_in": len(inputs[0]), "rows_out": len(df), "operations": steps})


def _infer(config: CleaningConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    for field, cols in config.named_columns():
        check_known(cols, inputs[0], field)
    return list(inputs[0]) if inputs[0] is not None else None


register(StepType(
    name="data_cleaning", kind="transform", config_model=CleaningConfig, run=run,
    description="Remove duplicates, fill gaps, fix types and formats, drop outliers; reported.",
    kinds=("pandas", "cleaning"), infer_columns=_infer,
))
