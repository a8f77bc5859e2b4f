"""Planning hooks of the `fusion` step: the columns it needs and produces, checked against
its inputs' known columns so `validate` names an unknown key or feature column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.fusion.features import EMBEDDING_DIMS
from datasetgen_assets.fusion.image_stats import IMAGE_STATS

if TYPE_CHECKING:
    from datasetgen_assets.steps.fusion import FusionConfig, Modality
    from datasetgen_assets.steps.registry import Columns, StepContext


def feature_names(m: Modality) -> list[str] | None:
    """The output feature columns of a modality when known before running."""
    if m.dims is not None:
        return None  # fewer components when there are fewer entities
    if m.kind == "text":
        return [f"{m.name}__emb{i}" for i in range(EMBEDDING_DIMS)]
    if m.kind == "image":
        return [f"{m.name}__{c}" for c in (m.columns or IMAGE_STATS)]
    return None  # tabular: one-hot categories depend on the data


def infer_columns(config: FusionConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """Check the key, feature, prediction, label and kept columns; the output columns when
    known before running."""
    from datasetgen_assets.steps.registry import check_known

    if len(inputs) != len(config.modalities):
        raise StepInputError(f"fusion: {len(inputs)} inputs (depends_on) but"
                             f" {len(config.modalities)} modalities",
                             fix="declare one modality per input, in depends_on order")
    for i, (m, cols) in enumerate(zip(config.modalities, inputs, strict=True)):
        field = f"modalities.{i}"
        check_known([config.key_of(m)], cols, f"{field}.key" if m.key else "key")
        check_known(m.columns, cols, f"{field}.columns")
        for name in ("image_column", "prediction"):
            value = getattr(m, name)
            if value:
                check_known([value], cols, f"{field}.{name}")
    for col in config.keep_columns:
        if all(cols is not None and col not in cols for cols in inputs):
            check_known([col], [c for cols in inputs for c in cols or []], "keep_columns")
    if config.attention is not None:
        label = config.attention.label
        if all(cols is not None and label not in cols for cols in inputs):
            check_known([label], [c for cols in inputs for c in cols or []], "attention.label")
    return output_columns(config)


def output_columns(config: FusionConfig) -> Columns:
    out = [config.key, *config.keep_columns]
    present = ["__present"] if config.missing == "fill" else []
    mods = config.modalities
    if config.attention is not None and config.attention.label not in out:
        out.append(config.attention.label)

    def features(ms: list[Modality]) -> list[str] | None:
        cols: list[str] = []
        for m in ms:
            names = feature_names(m)
            if names is None:
                return None
            cols += names + [m.name + p for p in present]
        return cols

    def late_cols(ms: list[Modality], extra: bool) -> list[str]:
        numeric = config.late_type == "numeric"
        if config.late_type == "auto":
            return []  # vote or mean is decided by the data
        tail = "support" if numeric else "confidence"
        return ([f"{m.name}__{m.prediction}" for m in ms] + (["early__prediction"] if extra
                                                            else [])
                + [config.output, f"{config.output}_{tail}"])

    if config.strategy == "late":
        cols = late_cols(mods, False)
        return out + cols if cols else None
    if config.strategy == "early":
        f = features(mods)
        return out + f if f is not None else None
    if config.strategy == "hybrid":
        f = features([m for m in mods if m.fusion == "early"])
        lc = late_cols([m for m in mods if m.fusion == "late"], config.attention is not None)
        return out + f + lc if f is not None and lc else None
    if config.strategy == "attention":
        f = features(mods)
        if f is None or (config.attention is None and any(m.prediction for m in mods)):
            return None
        return out + f + [f"{m.name}__weight" for m in mods] + (
            [config.output] if config.attention is not None else [])
    return None  # hierarchical: group sizes depend on PCA


def needed_inputs(config: FusionConfig, needed: set[str] | None,
            inputs: list[Columns]) -> list[set[str] | None]:
    out: list[set[str] | None] = []
    extra = set(config.keep_columns) | ({config.attention.label} if config.attention else set())
    for m, cols in zip(config.modalities, inputs, strict=False):
        want = {config.key_of(m), *m.columns} | {c for c in (m.image_column, m.prediction)
                                                  if c}
        want |= {c for c in extra if cols is None or c in cols}
        out.append(want)
    return out
