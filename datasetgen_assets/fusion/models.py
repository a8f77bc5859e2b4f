"""Small per-modality models for learned attention: logistic regression (classification) or
ridge regression on one modality's features, scored by k-fold cross-validation. A modality's
skill is its score above chance (balanced accuracy rescaled so chance = 0 and perfect = 1,
or R^2); weights are a softmax of the skills over a temperature."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from datasetgen_assets.errors import StepInputError


@dataclass
class CVResult:
    """Out-of-fold predictions of one modality's model and its score."""

    index: pd.Index  # entities predicted: the labelled ones, then the unlabelled
    oof: np.ndarray  # (n, classes) probabilities, or (n,) values: out-of-fold when labelled
    metric: float  # balanced accuracy or R^2
    skill: float  # above chance: 0 = chance, 1 = perfect


def task_of(y: pd.Series, task: str) -> str:
    """classification for non-numeric labels, booleans and integers with <= 20 values."""
    if task != "auto":
        return task
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if pd.api.types.is_integer_dtype(y) or (y.dropna() % 1 == 0).all():
        return "classification" if y.nunique() <= 20 else "regression"
    return "regression"


def cross_validate(x: pd.DataFrame, y: pd.Series, task: str, classes: list[object],
                   folds: int, seed: int, modality: str,
                   unlabelled: pd.DataFrame | None = None) -> CVResult:
    """Out-of-fold predictions of `y` from `x` (same index, no missing labels), plus the
    predictions of a model fit on all of them for the `unlabelled` entities."""
    res = _cross_validate(x, y, task, classes, folds, seed, modality)
    if unlabelled is None or not len(unlabelled):
        return res
    new = _model(task).fit(x.to_numpy(dtype="float64"), y.to_numpy() if task ==
                           "classification" else y.to_numpy(dtype="float64"))
    xn = unlabelled.to_numpy(dtype="float64")
    if task == "classification":
        extra = np.zeros((len(xn), len(classes)))
        proba = new.predict_proba(xn)
        for j, c in enumerate(new.classes_):
            extra[:, classes.index(c)] = proba[:, j]
    else:
        extra = new.predict(xn)
    return CVResult(x.index.append(unlabelled.index), np.concatenate([res.oof, extra]),
                    res.metric, res.skill)


def _model(task: str):
    from sklearn.linear_model import LogisticRegression, Ridge

    return LogisticRegression(max_iter=2000) if task == "classification" else Ridge(alpha=1.0)


def _cross_validate(x: pd.DataFrame, y: pd.Series, task: str, classes: list[object],
                    folds: int, seed: int, modality: str) -> CVResult:
    from sklearn.metrics import balanced_accuracy_score, r2_score
    from sklearn.model_selection import KFold, StratifiedKFold

    X, n = x.to_numpy(dtype="float64"), len(x)
    if task == "classification":
        counts = y.value_counts()
        k = min(folds, int(counts.min()))
        if len(counts) < 2 or k < 2:
            raise StepInputError(
                f"fusion: cannot learn attention weights for modality '{modality}': the"
                f" label needs at least 2 classes with 2+ labelled entities each (has"
                f" {dict(counts)})", fix="label more entities, or give fixed `weight`s")
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y.astype("str"))
        oof = np.zeros((n, len(classes)))
        target = y.to_numpy()
        for tr, te in splits:
            model = _model(task).fit(X[tr], target[tr])
            proba = model.predict_proba(X[te])
            for j, c in enumerate(model.classes_):
                oof[te, classes.index(c)] = proba[:, j]
        pred = np.array(classes, dtype=object)[oof.argmax(axis=1)]
        metric = float(balanced_accuracy_score(target.astype("str"), pred.astype("str")))
        chance = 1.0 / len(counts)
        return CVResult(x.index, oof, metric, (metric - chance) / (1.0 - chance))
    if n < 4:
        raise StepInputError(f"fusion: modality '{modality}' has {n} labelled entities;"
                             " learning weights needs at least 4",
                             fix="label more entities, or give fixed `weight`s")
    values = y.to_numpy(dtype="float64")
    out = np.zeros(n)
    for tr, te in KFold(min(folds, n), shuffle=True, random_state=seed).split(X):
        out[te] = _model(task).fit(X[tr], values[tr]).predict(X[te])
    metric = float(r2_score(values, out))
    return CVResult(x.index, out, metric, max(metric, -1.0))


def softmax_weights(skills: dict[str, float], temperature: float) -> dict[str, float]:
    """softmax(skill / temperature) over the modalities."""
    names = list(skills)
    z = np.array([skills[n] for n in names]) / temperature
    e = np.exp(z - z.max())
    return {n: float(v) for n, v in zip(names, e / e.sum(), strict=True)}
