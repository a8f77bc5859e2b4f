"""Augment an upload: profile it, fit a model, sample new rows in its formats, report fidelity
and privacy. Pure pandas; the `augment` step and `datasetgen augment` both call `augment()`.

    result = augment(df, rows=1000, seed=7)        # AugmentResult
    result.frame        # real + synthetic rows with a boolean `_synthetic` column
                        # (output="synthetic": the synthetic rows alone, no flag)
    result.report       # scores, per-column shapes, pairs, privacy, model, seconds, markdown

The model is fitted on a training split (1 - holdout) so the distance-to-closest-record check
can compare against rows the model never saw; the merged output holds every real row.
Synthetic rows equal to a real row (on the modeled columns) are dropped and redrawn. Fidelity
and exact copies use every row; constraint adherence and DCR a seeded sample of at most
20,000 and 5,000 synthetic rows.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.profiling import coerce_to_profile, profile_frame
from datasetgen_assets.synth import fidelity, formats, privacy
from datasetgen_assets.synth.model import MIN_LEAF, fit

FLAG = "_synthetic"
MIN_ROWS = 10  # fewer real rows than this cannot support a model
MIN_HOLDOUT_ROWS = 5
MAX_ROUNDS = 30
MAX_ADHERENCE_ROWS = 20_000  # constraint adherence on a seeded sample of the synthetic rows
MAX_DCR_ROWS = 5_000  # DCR on a seeded sample of the synthetic rows (SDMetrics subsamples too)
Output = Literal["merged", "synthetic"]
Progress = Callable[[str], None]


@dataclass
class AugmentResult:
    """The output frame, the synthetic rows alone and the report."""

    frame: pd.DataFrame
    synthetic: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def target_rows(real_rows: int, rows: int | None, ratio: float | None, where: str) -> int:
    """The number of rows to generate from `rows` or `ratio` x the real rows."""
    if rows is not None and ratio is not None:
        raise StepInputError(f"{where}: both 'rows' and 'ratio' are set.",
                             fix="give one of them")
    n = rows if rows is not None else (round(real_rows * ratio) if ratio is not None else None)
    if n is None:
        raise StepInputError(f"{where}: how many rows to generate is not set.",
                             fix="give 'rows' (e.g. rows: 1000) or 'ratio' (e.g. ratio: 2.0)")
    if n <= 0:
        raise StepInputError(f"{where}: 'rows' must be at least 1 (got {n}).",
                             fix="ask for a positive number of rows")
    return int(n)


def check_upload(df: pd.DataFrame, source: str) -> None:
    """Raise StepInputError for uploads that cannot be modeled (empty, too few rows, no
    usable column)."""
    if df.shape[1] == 0 or len(df) == 0:
        raise StepInputError(f"{source} is empty: no rows to learn from.",
                             fix="upload a file with a header row and data rows")
    if len(df) < MIN_ROWS:
        raise StepInputError(
            f"{source} has {len(df)} row{'s' if len(df) != 1 else ''}; augmentation needs at "
            f"least {MIN_ROWS} real rows to learn distributions from.",
            fix=f"upload at least {MIN_ROWS} rows, or generate from a schema instead "
                "(`datasetgen generate`)")
    empty = [str(c) for c in df.columns if df[c].isna().all()]
    if len(empty) == df.shape[1]:
        raise StepInputError(
            f"{source}: every column is empty (all nulls): {', '.join(empty)}.",
            fix="upload the file with its values, or check the delimiter and encoding")


def _split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = round(n * holdout)
    if holdout <= 0 or k < MIN_HOLDOUT_ROWS or n - k < MIN_ROWS:
        return np.arange(n), np.array([], dtype=int)
    perm = rng.permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])


def augment(df: pd.DataFrame, *, rows: int, output: Output = "merged", seed: int = 0,
            holdout: float = 0.2, method: str = "cart", max_exact_copies: int = 0,
            source: str = "input", progress: Progress | None = None) -> AugmentResult:
    """Generate `rows` synthetic rows like `df` (see the module docstring)."""
    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    check_upload(df, source)
    if rows <= 0:
        raise StepInputError(f"{source}: 'rows' must be at least 1 (got {rows}).",
                             fix="ask for a positive number of rows")
    if FLAG in df.columns:
        raise StepInputError(f"{source} already has a '{FLAG}' column.",
                             fix=f"drop or rename '{FLAG}' before augmenting")
    df = df.reset_index(drop=True)
    say(f"profiling {len(df):,} rows x {df.shape[1]} columns")
    profile = profile_frame(df, name=source)
    plans, typed = formats.plan_columns(df, profile)
    warnings = [f"column '{p.name}' is empty (all nulls) in {source}: the synthetic rows keep "
                "it all-null" for p in plans if p.role == "empty"]
    modeled = [p.name for p in plans if p.role == "model"]
    sdtypes = {p.name: p.sdtype for p in plans if p.role == "model" and p.sdtype}
    model_frame, kinds = formats.to_model(df, typed, plans)
    train_idx, hold_idx = _split(len(df), holdout, seed)
    if holdout > 0 and len(hold_idx) == 0:
        warnings.append(f"{len(df)} rows are too few to hold out {holdout:.0%} for the privacy "
                        "check: the model uses every row and the DCR holdout check is skipped")
    say(f"fitting the {method} model on {len(train_idx):,} rows, {len(modeled)} columns")
    t_fit = time.perf_counter()
    model = fit(model_frame.iloc[train_idx].reset_index(drop=True), kinds, method=method,
                seed=seed, min_leaf=MIN_LEAF) if modeled else None
    fit_seconds = time.perf_counter() - t_fit
    say(f"sampling {rows:,} rows")
    t_sample = time.perf_counter()
    synth_model, synth = _sample(model, df, plans, rows, seed, modeled, max_exact_copies,
                                 source)
    sample_seconds = time.perf_counter() - t_sample
    say("scoring fidelity and privacy")
    real_model = model_frame.iloc[train_idx].reset_index(drop=True)
    quality = fidelity.quality_report(_for_scoring(real_model, sdtypes),
                                      _for_scoring(synth_model, sdtypes), sdtypes)
    checked = _subsample(len(synth), MAX_ADHERENCE_ROWS, seed)
    synth_checked = synth.iloc[checked].reset_index(drop=True)
    synth_typed = coerce_to_profile(synth_checked, profile)
    adherence = fidelity.constraint_adherence(df, typed, synth_checked, synth_typed, plans)
    copies = privacy.exact_copies(df, synth, modeled)
    dcr = privacy.dcr_report(
        _for_scoring(real_model, sdtypes),
        _for_scoring(model_frame.iloc[hold_idx].reset_index(drop=True), sdtypes),
        _for_scoring(synth_model.iloc[_subsample(len(synth_model), MAX_DCR_ROWS, seed)],
                     sdtypes), sdtypes, seed=seed)
    frame = _output(df, synth, output)
    seconds = time.perf_counter() - start
    report = build_report(
        source=source, real_rows=len(df), rows=rows, output=output, method=method, seed=seed,
        plans=plans, quality=quality, adherence=adherence, copies=copies, dcr=dcr,
        warnings=warnings, seconds=seconds, fit_seconds=fit_seconds,
        sample_seconds=sample_seconds, train_rows=len(train_idx), holdout_rows=len(hold_idx))
    return AugmentResult(frame, synth, report)


def _subsample(n: int, limit: int, seed: int) -> np.ndarray:
    """Sorted row positions: all when n <= limit, else a seeded sample of `limit`."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _for_scoring(frame: pd.DataFrame, sdtypes: dict[str, str]) -> pd.DataFrame:
    """Model-space values as the fidelity metrics read them (datetimes as nanoseconds)."""
    return frame[[c for c in sdtypes]]


def _sample(model: Any, df: pd.DataFrame, plans: list[formats.ColumnPlan], rows: int,
            seed: int, modeled: list[str], max_copies: int,
            source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model-space and rendered synthetic rows, exact copies of real rows redrawn."""
    real_keys = privacy.row_keys(df, modeled)
    kept_model: list[pd.DataFrame] = []
    kept: list[pd.DataFrame] = []
    have, copies_allowed = 0, max_copies
    for round_no in range(MAX_ROUNDS):
        if have >= rows:
            break
        want = rows - have
        batch_n = want if round_no == 0 else max(want * 2, 64)
        if model is None:
            sample = pd.DataFrame(index=range(batch_n))
        else:
            sample = model.sample(batch_n, seed=seed * 1009 + round_no)
        rendered = pd.DataFrame({p.name: formats.render(sample, p) for p in plans
                                 if p.role == "model"})
        is_copy = np.isin(privacy.row_keys(rendered, modeled), real_keys) if modeled else \
            np.zeros(batch_n, bool)
        if copies_allowed > 0:
            allow = np.flatnonzero(is_copy)[:copies_allowed]
            is_copy[allow] = False
            copies_allowed -= len(allow)
        keep = np.flatnonzero(~is_copy)[:want]
        kept_model.append(sample.iloc[keep].reset_index(drop=True))
        kept.append(rendered.iloc[keep].reset_index(drop=True))
        have += len(keep)
    if have < rows:
        raise StepInputError(
            f"{source}: only {have:,} of {rows:,} synthetic rows differ from every real row on "
            f"the columns {', '.join(modeled)}: the upload has too few distinct combinations "
            "to generate new rows without copying real ones.",
            fix="ask for fewer rows, upload more varied data, or allow copies with "
                "max_exact_copies")
    synth_model = pd.concat(kept_model, ignore_index=True)
    rendered = pd.concat(kept, ignore_index=True)
    out: dict[str, Any] = {}
    for i, p in enumerate(plans):
        if p.role == "model":
            out[p.name] = rendered[p.name]
        elif p.role == "fresh":
            out[p.name] = formats.fresh_values(p, df[p.name], rows, seed + 7919 * (i + 1))
        else:
            out[p.name] = pd.Series([None] * rows, dtype=df[p.name].dtype
                                    if df[p.name].dtype != bool else object)
    return synth_model, pd.DataFrame(out)[list(df.columns)]


def _output(real: pd.DataFrame, synth: pd.DataFrame, output: Output) -> pd.DataFrame:
    synth = synth.copy()
    if output == "synthetic":
        return synth
    real = real.copy()
    real[FLAG] = False
    synth[FLAG] = True
    for c in real.columns:
        if c != FLAG and real[c].dtype != synth[c].dtype:
            with contextlib.suppress(TypeError, ValueError):
                synth[c] = synth[c].astype(real[c].dtype)
    merged = pd.concat([real, synth], ignore_index=True)
    merged[FLAG] = merged[FLAG].astype(bool)
    return merged


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), nd)


def build_report(*, source: str, real_rows: int, rows: int, output: str, method: str, seed: int,
                 plans: list[formats.ColumnPlan], quality: dict[str, Any],
                 adherence: dict[str, Any], copies: int, dcr: dict[str, Any],
                 warnings: list[str], seconds: float, fit_seconds: float,
                 sample_seconds: float, train_rows: int, holdout_rows: int) -> dict[str, Any]:
    """The JSON-able report and its markdown summary."""
    shapes = sorted(({"column": s["column"], "metric": s["metric"], "score": _r(s["score"])}
                     for s in quality["columns"]), key=lambda s: (s["score"] is None,
                                                                   s["score"] or 0))
    pairs = sorted(({"columns": p["columns"], "metric": p["metric"], "score": _r(p["score"])}
                    for p in quality["pairs"]), key=lambda p: (p["score"] is None,
                                                                p["score"] or 0))
    report: dict[str, Any] = {
        "source": source, "real_rows": real_rows, "synthetic_rows": rows, "output": output,
        "model": method, "seed": seed,
        "quality_score": _r(quality["score"]),
        "column_shapes": _r(quality["column_shapes"]),
        "column_pair_trends": _r(quality["column_pair_trends"]),
        "constraint_adherence": _r(adherence["score"]),
        "exact_copies": copies,
        "privacy": {k: v for k, v in dcr.items() if k != "compared_columns"},
        "column_scores": shapes,
        "worst_pairs": pairs[:10],
        "pairs_scored": len(pairs),
        "adherence_by_column": adherence["columns"],
        "columns": {p.name: p.role if p.role != "model" else p.sdtype for p in plans},
        "pii_columns": [p.name for p in plans if p.role == "fresh" and p.pii],
        "train_rows": train_rows, "holdout_rows": holdout_rows,
        "seconds": round(seconds, 3), "fit_seconds": round(fit_seconds, 3),
        "sample_seconds": round(sample_seconds, 3),
        "warnings": warnings,
    }
    report["markdown"] = markdown(report)
    report["markdown_label"] = "fidelity and privacy"
    return report


def _fmt(x: Any) -> str:
    return "n/a" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def markdown(report: dict[str, Any]) -> str:
    """A short markdown summary of an augmentation report."""
    priv = report["privacy"]
    closer = priv.get("closer_to_training")
    lines = [
        f"**{report['synthetic_rows']:,} synthetic rows** from {report['real_rows']:,} real "
        f"({report['model']} model, seed {report['seed']}, {report['seconds']:.2f}s)",
        "",
        "| measure | value |", "|---|---|",
        f"| quality score (SDMetrics QualityReport method) | {_fmt(report['quality_score'])} |",
        f"| column shapes | {_fmt(report['column_shapes'])} |",
        f"| column pair trends | {_fmt(report['column_pair_trends'])} |",
        f"| constraint adherence | {_fmt(report['constraint_adherence'])} |",
        f"| exact copies of real rows | {report['exact_copies']} |",
        f"| synthetic rows closer to training than holdout | "
        f"{'n/a' if closer is None else f'{closer:.1%}'} |",
        f"| median DCR training / holdout | {_fmt(priv.get('median_dcr_training'))} / "
        f"{_fmt(priv.get('median_dcr_holdout'))} |",
    ]
    if report["column_scores"]:
        lines += ["", "Lowest column shapes: " + ", ".join(
            f"`{s['column']}` {_fmt(s['score'])}" for s in report["column_scores"][:5])]
    for w in report["warnings"]:
        lines += ["", f"⚠ {w}"]
    return "\n".join(lines)
