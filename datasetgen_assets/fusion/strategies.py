"""The five fusion strategies over inputs indexed by entity key. Each returns the fused frame
(the key column first) and the facts the report shows: per-modality weights, coverage and
feature counts.

- early: normalized feature blocks concatenated in declared order;
- late: per-modality predictions combined by weighted vote (categorical) or mean (numeric);
- hybrid: early modalities concatenated (and, with a label, their out-of-fold prediction joins
  the vote), late modalities voted;
- hierarchical: groups fused leaves first (concatenate members, optional PCA), the top
  groups' features out;
- attention: per-modality weights (fixed, or a softmax of cross-validated skill), features
  scaled by them and predictions combined by them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.fusion import align, combine, models
from datasetgen_assets.fusion.features import Block, modality_block, normalize, reduce

if TYPE_CHECKING:
    from datasetgen_assets.steps.fusion import FusionConfig, Modality


@dataclass
class Fused:
    """A strategy's output and what the report says about it."""

    frame: pd.DataFrame
    weights: dict[str, float]
    features: dict[str, int]  # per modality (or group): feature columns in the output
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inputs:
    """The inputs indexed by key, with what each modality covers."""

    config: FusionConfig
    frames: dict[str, pd.DataFrame]
    present: dict[str, pd.Index] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)
    null_keys: int = 0

    def modality(self, name: str) -> Modality:
        return next(m for m in self.config.modalities if m.name == name)

    def column(self, col: str) -> pd.Series:
        """`col` from the first input that has it, indexed by key."""
        for frame in self.frames.values():
            if col in frame.columns:
                return frame[col]
        raise StepInputError(f"fusion: no input has the column '{col}'",
                             fix="name a column of one of the inputs")

    def predictions(self, names: list[str]) -> pd.DataFrame:
        """The per-modality prediction columns over the kept entities (NA where absent)."""
        keep = self.kept
        return pd.DataFrame({n: self.frames[n][self.modality(n).prediction].reindex(keep)
                             for n in names}, index=keep)

    kept: pd.Index = field(default_factory=lambda: pd.Index([]))
    universe: pd.Index = field(default_factory=lambda: pd.Index([]))


def load(config: FusionConfig, frames: list[pd.DataFrame],
         resolve: Callable[[str], str], feature_modalities: list[str]) -> Inputs:
    """Index inputs by key, build the feature blocks of `feature_modalities`, and decide the
    entities: those covering every modality (drop) or any (fill). A late modality covers
    the entities whose prediction is not null."""
    align.check_inputs(config, frames)
    inp = Inputs(config, {})
    for m, frame in zip(config.modalities, frames, strict=True):
        f, nulls = align.by_key(m, frame, config.key_of(m))
        inp.frames[m.name] = f
        inp.null_keys += nulls
        if m.name in feature_modalities:
            block = modality_block(m, f, resolve, config.normalize, config.balance,
                                   config.seed)
            inp.blocks[m.name] = block
            inp.present[m.name] = block.keys
        else:
            inp.present[m.name] = f.index[f[m.prediction].notna()] if m.prediction else f.index
    inp.universe = _union(inp.present)
    inp.kept = align.entities(inp.present, config.missing, config.key)
    return inp


def _union(present: dict[str, pd.Index]) -> pd.Index:
    names = list(present)
    out = present[names[0]]
    for n in names[1:]:
        out = out.append(present[n][~present[n].isin(out)])
    return out


def assemble(inp: Inputs, blocks: list[Block], scale: dict[str, float] | None = None
             ) -> pd.DataFrame:
    """Blocks side by side over the kept entities, absent rows = fill_value; with missing:
    fill, a `<name>__present` indicator per block. `scale` multiplies a block."""
    cfg = inp.config
    parts = []
    for b in blocks:
        f = b.features.reindex(inp.kept)
        absent = f.isna().all(axis=1) if f.shape[1] else ~inp.kept.isin(b.keys)
        if scale is not None:
            f = f * scale.get(b.name, 1.0)
        f = f.fillna(cfg.fill_value)
        if cfg.missing == "fill":
            f[f"{b.name}__present"] = (~absent).astype("float64").to_numpy()
        parts.append(f)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=inp.kept)


def with_key(inp: Inputs, body: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """The key column first, then `keep` columns, then `body`; a plain 0..n index."""
    cfg = inp.config
    out = pd.DataFrame({cfg.key: inp.kept.to_numpy()}, index=inp.kept)
    for col in keep:
        out[col] = inp.column(col).reindex(inp.kept)
    clash = [c for c in body.columns if c in out.columns]
    clash += body.columns[body.columns.duplicated()].tolist()
    if clash:
        raise StepInputError(f"fusion: output column '{clash[0]}' is produced twice",
                             fix="rename the modality or the kept column, and do not list a"
                                 " modality's prediction column among its features")
    out = pd.concat([out, body], axis=1)
    return out.reset_index(drop=True)


def _late(inp: Inputs, names: list[str], weights: dict[str, float],
          extra: pd.Series | None = None, extra_name: str = "early") -> pd.DataFrame:
    """Per-modality answers `<name>__<prediction>` and the fused `output` (+ confidence or
    support)."""
    cfg = inp.config
    preds = inp.predictions(names)
    if extra is not None:
        preds[extra_name] = extra.reindex(inp.kept)
    numeric = cfg.late_type == "numeric" or (cfg.late_type == "auto"
                                             and combine.is_numeric(preds))
    if numeric:
        try:
            preds = preds.apply(pd.to_numeric)
        except (TypeError, ValueError):
            raise StepInputError("fusion: late_type numeric, but a prediction column is not"
                                 " numeric", fix="use late_type: categorical") from None
        fused, conf = combine.weighted_mean(preds, weights)
        conf_name = f"{cfg.output}_support"
    else:
        fused, conf = combine.weighted_vote(preds.astype(object), weights)
        conf_name = f"{cfg.output}_confidence"
    cols = {f"{n}__{inp.modality(n).prediction}": preds[n] for n in names}
    if extra is not None:
        cols[f"{extra_name}__prediction"] = preds[extra_name]
    return pd.DataFrame({**cols, cfg.output: fused, conf_name: conf}, index=inp.kept)


# ---- strategies ------------------------------------------------------------------------
def early(config: FusionConfig, frames: list[pd.DataFrame], resolve: Callable[[str], str],
          keep: list[str]) -> tuple[Inputs, Fused]:
    names = [m.name for m in config.modalities]
    inp = load(config, frames, resolve, names)
    body = assemble(inp, [inp.blocks[n] for n in names])
    return inp, Fused(with_key(inp, body, keep), {n: 1.0 for n in names},
                      {n: inp.blocks[n].width for n in names})


def late(config: FusionConfig, frames: list[pd.DataFrame], resolve: Callable[[str], str],
         keep: list[str]) -> tuple[Inputs, Fused]:
    names = [m.name for m in config.modalities]
    inp = load(config, frames, resolve, [])
    weights = _normalized({m.name: m.weight for m in config.modalities})
    body = _late(inp, names, weights)
    return inp, Fused(with_key(inp, body, keep), weights, {n: 0 for n in names})


def hybrid(config: FusionConfig, frames: list[pd.DataFrame], resolve: Callable[[str], str],
           keep: list[str]) -> tuple[Inputs, Fused]:
    early_names = [m.name for m in config.modalities if m.fusion == "early"]
    late_names = [m.name for m in config.modalities if m.fusion == "late"]
    inp = load(config, frames, resolve, early_names)
    feats = assemble(inp, [inp.blocks[n] for n in early_names])
    weights = {m.name: m.weight for m in config.modalities if m.fusion == "late"}
    extra = None
    info: dict[str, Any] = {"early": early_names, "late": late_names}
    if config.attention is not None:  # the early features' out-of-fold prediction votes too
        a = config.attention
        y = inp.column(a.label).reindex(inp.kept)
        labelled = y.notna()
        task = models.task_of(y[labelled], a.task)
        classes = sorted(y[labelled].unique().tolist(), key=str)
        cv = models.cross_validate(feats[labelled.to_numpy()], y[labelled], task, classes,
                                   a.folds, a.seed, "+".join(early_names),
                                   feats[~labelled.to_numpy()])
        pred = (pd.Series(np.array(classes, dtype=object)[cv.oof.argmax(axis=1)], index=cv.index)
                if task == "classification" else pd.Series(cv.oof, index=cv.index))
        extra = pred
        weights["early"] = config.early_weight
        info["early_model"] = {"task": task, "metric": round(cv.metric, 4),
                               "entities": len(cv.index)}
        keep = [*keep, a.label] if a.label not in keep else keep
    weights = _normalized(weights)
    body = pd.concat([feats, _late(inp, late_names, weights, extra)], axis=1)
    counts = {n: inp.blocks[n].width for n in early_names} | {n: 0 for n in late_names}
    return inp, Fused(with_key(inp, body, keep), weights, counts, {"hybrid": info})


def hierarchical(config: FusionConfig, frames: list[pd.DataFrame],
                 resolve: Callable[[str], str], keep: list[str]) -> tuple[Inputs, Fused]:
    names = [m.name for m in config.modalities]
    inp = load(config, frames, resolve, names)
    nodes: dict[str, Block] = {}
    level: dict[str, int] = {n: 0 for n in names}
    for n in names:
        nodes[n] = Block(n, inp.blocks[n].kind, assemble(inp, [inp.blocks[n]]))
    tree = []
    for g in config.groups:
        members = pd.concat([nodes[m].features for m in g.members], axis=1)
        block = Block(g.name, "group", members)
        if g.dims is not None:
            block = normalize(reduce(normalize(block, config.normalize), g.dims, config.seed),
                              config.normalize)
        nodes[g.name] = block
        level[g.name] = 1 + max(level[m] for m in g.members)
        tree.append({"group": g.name, "level": level[g.name], "members": g.members,
                     "features": block.width, "notes": block.notes})
    used = {m for g in config.groups for m in g.members}
    top = [g.name for g in config.groups if g.name not in used]
    body = pd.concat([nodes[t].features for t in top], axis=1)
    counts = {n: inp.blocks[n].width for n in names} | {t["group"]: t["features"]
                                                         for t in tree}
    return inp, Fused(with_key(inp, body, keep), {n: 1.0 for n in names}, counts,
                      {"levels": tree, "top_groups": top})


def attention(config: FusionConfig, frames: list[pd.DataFrame],
              resolve: Callable[[str], str], keep: list[str]) -> tuple[Inputs, Fused]:
    names = [m.name for m in config.modalities]
    inp = load(config, frames, resolve, names)
    info: dict[str, Any] = {}
    a = config.attention
    fused_cols: dict[str, pd.Series] = {}
    if a is None:
        weights = _normalized({m.name: m.weight for m in config.modalities})
        info["weights_from"] = "config"
    else:
        y_all = inp.column(a.label).reindex(inp.kept)
        labelled = y_all[y_all.notna()]
        task = models.task_of(labelled, a.task)
        classes = sorted(labelled.unique().tolist(), key=str)
        results: dict[str, models.CVResult] = {}
        for n in names:
            x = inp.blocks[n].features
            x = x[x.index.isin(inp.kept)]
            known = x.index.isin(labelled.index)
            results[n] = models.cross_validate(x[known], labelled.loc[x.index[known]], task,
                                               classes, a.folds, a.seed, n, x[~known])
        weights = models.softmax_weights({n: r.skill for n, r in results.items()},
                                         a.temperature)
        info |= {"weights_from": f"label '{a.label}'", "task": task,
                 "scores": {n: round(r.metric, 4) for n, r in results.items()},
                 "skills": {n: round(r.skill, 4) for n, r in results.items()},
                 "temperature": a.temperature}
        fused, metric = _attend(results, weights, inp.kept, task, classes, labelled)
        fused_cols[config.output] = fused
        info["fused_score"] = round(metric, 4) if metric is not None else None
        keep = [*keep, a.label] if a.label not in keep else keep
    body = assemble(inp, [inp.blocks[n] for n in names], weights)
    per_entity = pd.DataFrame({n: inp.kept.isin(inp.blocks[n].keys) * weights[n]
                               for n in names}, index=inp.kept)
    per_entity = per_entity.div(per_entity.sum(axis=1).replace(0.0, np.nan), axis=0)
    body = pd.concat([body, per_entity.add_suffix("__weight")], axis=1)
    predicted = [m.name for m in config.modalities if m.prediction]
    if a is None and predicted:  # fixed weights also combine given predictions
        lat = _late(inp, predicted, {n: weights[n] for n in predicted})
        body = pd.concat([body, lat], axis=1)
    for col, s in fused_cols.items():
        body[col] = s
    return inp, Fused(with_key(inp, body, keep), weights,
                      {n: inp.blocks[n].width for n in names}, {"attention": info})


def _attend(results: dict[str, models.CVResult], weights: dict[str, float], kept: pd.Index,
            task: str, classes: list[object], y: pd.Series) -> tuple[pd.Series, float | None]:
    """The weighted combination of the modalities' out-of-fold predictions (probabilities
    for classification) per entity, over the modalities that cover it; its CV score."""
    from sklearn.metrics import balanced_accuracy_score, r2_score

    width = len(classes) if task == "classification" else 1
    acc = np.zeros((len(kept), width))
    wsum = np.zeros(len(kept))
    for n, r in results.items():
        pos = kept.get_indexer(r.index)
        ok = pos >= 0
        vals = r.oof if r.oof.ndim == 2 else r.oof[:, None]
        acc[pos[ok]] += weights[n] * vals[ok]
        wsum[pos[ok]] += weights[n]
    has = wsum > 0
    if task == "classification":
        labels = np.array(classes, dtype=object)[acc.argmax(axis=1)]
        fused = pd.Series(np.where(has, labels, None), index=kept, dtype=object)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            fused = pd.Series(np.where(has, acc[:, 0] / wsum, np.nan), index=kept)
    scored = fused.reindex(y.index).notna()
    if not scored.any():
        return fused, None
    truth, guess = y[scored.to_numpy()], fused.reindex(y.index)[scored.to_numpy()]
    if task == "classification":
        return fused, float(balanced_accuracy_score(truth.astype("str"), guess.astype("str")))
    return fused, float(r2_score(truth.astype("float64"), guess.astype("float64")))


def _normalized(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        raise StepInputError("fusion: every modality weight is 0",
                             fix="give at least one modality a positive weight")
    return {n: w / total for n, w in weights.items()}


STRATEGIES = {"early": early, "late": late, "hybrid": hybrid, "hierarchical": hierarchical,
              "attention": attention}
