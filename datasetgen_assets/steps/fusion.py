"""`fusion`: combine modalities (one input each, in depends_on order) per entity key into one
ML-ready frame: text as MiniLM embeddings, image features (columns or file statistics) and
tabular features, fused early, late, hybrid, hierarchically or by attention weights. The
report gives per-modality weights, coverage and feature counts (see datasetgen_assets.fusion)."""

from __future__ import annotations

import re
import time
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from datasetgen_assets.fusion import planning
from datasetgen_assets.fusion.strategies import STRATEGIES
from datasetgen_assets.fusion.summary import markdown
from datasetgen_assets.steps.registry import (
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)

Kind = Literal["text", "image", "tabular"]
Strategy = Literal["early", "late", "hybrid", "hierarchical", "attention"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Modality(StepConfig):
    """One modality: which columns of its input, of which kind, and how it joins the fusion."""

    name: str = Field(description="letters, digits, _; prefixes its feature columns")
    kind: Kind = Field(description="text (MiniLM embeddings) | image (given numeric columns or"
                       " statistics of image files) | tabular (numeric and categorical)")
    columns: list[str] = Field(default_factory=list, description="text: columns joined into"
                               " one text; image: numeric feature columns; tabular: features")
    image_column: str | None = Field(None, description="image: a column of image paths (local"
                                     " or s3://) whose statistics become the features")
    key: str | None = Field(None, description="this input's key column (default: the step's"
                            " `key`)")
    dims: int | None = Field(None, gt=0, description="reduce the features to this many"
                             " principal components (PCA)")
    prediction: str | None = Field(None, description="late/hybrid: this modality's prediction"
                                   " or field to combine")
    weight: float = Field(1.0, ge=0, description="fixed weight (late votes, attention without"
                          " a label)")
    fusion: Literal["early", "late"] | None = Field(None, description="hybrid: which side")
    max_categories: int = Field(20, gt=0, description="tabular: one-hot columns per"
                                " categorical column at most (the rest: __other)")

    @model_validator(mode="after")
    def _fields(self) -> Modality:
        if not _NAME.match(self.name):
            raise ValueError(f"modality name '{self.name}' must be letters, digits and _")
        if self.kind == "text" and not self.columns:
            raise ValueError(f"text modality '{self.name}' needs `columns` (the text)")
        if self.kind == "image" and bool(self.columns) == bool(self.image_column):
            raise ValueError(f"image modality '{self.name}' needs either `columns` (numeric"
                             " features) or `image_column` (image files), not both")
        if self.kind == "tabular" and not self.columns:
            raise ValueError(f"tabular modality '{self.name}' needs `columns`")
        if self.image_column and self.kind != "image":
            raise ValueError(f"modality '{self.name}': image_column is for kind: image")
        return self


class Group(StepConfig):
    """hierarchical: one node of the tree, fusing modalities or earlier groups."""

    name: str
    members: list[str] = Field(min_length=1, description="modality or earlier group names")
    dims: int | None = Field(None, gt=0, description="PCA components of the fused group")


class LearnedAttention(StepConfig):
    """attention: learn per-modality weights from a labelled column."""

    label: str = Field(description="the label column (in any input)")
    task: Literal["auto", "classification", "regression"] = "auto"
    folds: int = Field(3, ge=2, le=10, description="cross-validation folds")
    temperature: float = Field(0.1, gt=0, description="softmax temperature over the"
                               " modalities' skill scores (lower: sharper)")
    seed: int = 0


class FusionConfig(StepConfig):
    key: str = Field(description="the entity key column (every input; see modality `key`)")
    strategy: Strategy
    modalities: list[Modality] = Field(min_length=2, description="one per input, in"
                                       " depends_on order")
    missing: Literal["drop", "fill"] = Field(
        "drop", description="entities missing a modality: drop them, or fill the features"
        " with fill_value and add <modality>__present")
    fill_value: float = Field(0.0, description="fill: the value of absent features (0 = the"
                              " mean after standard normalization)")
    normalize: Literal["standard", "minmax", "none"] = Field(
        "standard", description="per-modality feature scaling")
    balance: bool = Field(False, description="scale each modality's block by 1/sqrt(features)"
                          " so every modality carries the same total variance")
    keep_columns: list[str] = Field(default_factory=list, description="columns carried to"
                                    " the output as they are (from the first input having"
                                    " each), e.g. a label or a name")
    output: str = Field("fused", description="late/hybrid/attention: the fused column")
    late_type: Literal["auto", "categorical", "numeric"] = Field(
        "auto", description="late: weighted vote (categorical) or weighted mean (numeric)")
    early_weight: float = Field(1.0, ge=0, description="hybrid: weight of the early group's"
                                " prediction (with `attention.label`)")
    groups: list[Group] = Field(default_factory=list, description="hierarchical: the tree,"
                                " leaves first")
    attention: LearnedAttention | None = Field(None, description="attention (and hybrid):"
                                               " learn from a label")
    seed: int = 0

    @model_validator(mode="after")
    def _strategy_fields(self) -> FusionConfig:
        names = [m.name for m in self.modalities]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"modality names must be unique: {', '.join(sorted(dup))}")
        s = self.strategy
        if s == "late":
            lacking = [m.name for m in self.modalities if not m.prediction]
            if lacking:
                raise ValueError(f"strategy late needs `prediction` on every modality;"
                                 f" missing on {', '.join(lacking)}")
        if s == "hybrid":
            sides = {m.name: m.fusion for m in self.modalities}
            if None in sides.values():
                raise ValueError("strategy hybrid needs `fusion: early|late` on every"
                                 " modality; missing on " + ", ".join(
                                     n for n, f in sides.items() if f is None))
            if "early" not in sides.values() or "late" not in sides.values():
                raise ValueError("strategy hybrid needs at least one early and one late"
                                 " modality")
            lacking = [m.name for m in self.modalities if m.fusion == "late"
                       and not m.prediction]
            if lacking:
                raise ValueError("hybrid: late modalities need `prediction`: "
                                 + ", ".join(lacking))
        if s == "hierarchical":
            if not self.groups:
                raise ValueError("strategy hierarchical needs `groups` (leaves first)")
            known = set(names)
            used: set[str] = set()
            for g in self.groups:
                if g.name in known:
                    raise ValueError(f"group name '{g.name}' is already a modality or group")
                for m in g.members:
                    if m not in known:
                        raise ValueError(f"group '{g.name}': unknown member '{m}' (members"
                                         " are modalities or groups declared before it)")
                    if m in used:
                        raise ValueError(f"group '{g.name}': '{m}' is already in a group")
                    used.add(m)
                known.add(g.name)
            loose = [n for n in names if n not in used]
            if loose:
                raise ValueError(f"hierarchical: modalities in no group: {', '.join(loose)}")
        elif self.groups:
            raise ValueError("`groups` is for strategy hierarchical")
        if self.attention is not None and s not in {"attention", "hybrid"}:
            raise ValueError("`attention` (a label to learn from) is for strategies attention"
                             " and hybrid")
        return self

    def key_of(self, m: Modality) -> str:
        return m.key or self.key


def run(inputs: list[pd.DataFrame], config: FusionConfig, ctx: StepContext) -> StepResult:
    start = time.perf_counter()
    inp, fused = STRATEGIES[config.strategy](config, inputs, ctx.resolve,
                                             list(config.keep_columns))
    coverage = {n: round(len(inp.present[n]) / len(inp.universe), 6) if len(inp.universe)
                else 0.0 for n in inp.present}
    mods = {m.name: {"kind": m.kind, "rows": len(inp.frames[m.name]),
                     "entities": len(inp.present[m.name]), "coverage": coverage[m.name],
                     "features": fused.features.get(m.name, 0),
                     "weight": round(fused.weights.get(m.name, 0.0), 6),
                     "notes": inp.blocks[m.name].notes if m.name in inp.blocks else []}
            for m in config.modalities}
    report = {"strategy": config.strategy, "key": config.key, "entities": len(inp.kept),
              "entities_total": len(inp.universe),
              "entities_dropped": len(inp.universe) - len(inp.kept),
              "null_keys_dropped": inp.null_keys, "missing": config.missing,
              "weights": {n: round(w, 6) for n, w in fused.weights.items()},
              "coverage": coverage, "feature_counts": fused.features,
              "features_out": int(sum(1 for c in fused.frame.columns if "__" in str(c))),
              "modalities": mods, **fused.extra,
              "rows_out": len(fused.frame), "seconds": round(time.perf_counter() - start, 3)}
    report["markdown"] = markdown(report)
    return StepResult(fused.frame, report)


register(StepType(
    name="fusion", kind="transform", config_model=FusionConfig, run=run,
    description="Fuse modalities (text embeddings, image and tabular features) per entity"
                " key: early, late, hybrid, hierarchical or attention.",
    min_inputs=2, max_inputs=None, infer_columns=planning.infer_columns,
    needed_inputs=planning.needed_inputs,
))
