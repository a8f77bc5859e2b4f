"""Fit and sample a tabular model of mixed numeric, datetime and categorical columns.

Two models, chosen by measurement (see bench/synth_augment.py):

- `cart` (default): sequential conditional trees in the style of synthpop. Categoricals come
  first, then numbers; column j is drawn
  from the real values in the leaf of a decision tree fitted on columns 0..j-1, so marginals,
  correlations and categorical contingencies carry over; continuous values are smoothed with a
  per-leaf Gaussian kernel so real values are not copied verbatim.
- `copula`: a Gaussian copula with empirical marginals; categoricals enter the copula as
  frequency intervals of [0, 1].

Input frames hold numeric and datetime columns as floats (NaN = null) and categoricals as
objects (None/NaN = null). Nulls are modeled: a null indicator drawn before the value of a
numeric column, a null category for categoricals. Everything is seeded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

Kind = Literal["numeric", "categorical"]
Method = Literal["cart", "copula"]
METHODS: tuple[str, ...] = ("cart", "copula")
MIN_LEAF = 5
SMOOTHING = 0.8  # times Silverman's bandwidth for the per-leaf kernel (measured)


@dataclass
class _Col:
    name: str
    kind: Kind
    categories: list[object] = field(default_factory=list)  # categorical: code -> value
    has_nulls: bool = False
    smooth: bool = False  # numeric with many distinct values: kernel-smoothed
    lo: float = 0.0
    hi: float = 0.0


def _encode(frame: pd.DataFrame, kinds: dict[str, Kind]) -> tuple[list[_Col], np.ndarray]:
    """Columns as float codes: numerics as values (NaN null), categoricals as codes (-1 null)."""
    cols: list[_Col] = []
    arrays: list[np.ndarray] = []
    for name in frame.columns:
        kind = kinds[name]
        s = frame[name]
        if kind == "numeric":
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            ok = x[~np.isnan(x)]
            lo, hi = (float(ok.min()), float(ok.max())) if len(ok) else (0.0, 0.0)
            cols.append(_Col(name, "numeric", has_nulls=bool(np.isnan(x).any()),
                             smooth=len(np.unique(ok)) > 20, lo=lo, hi=hi))
            arrays.append(x)
        else:
            codes, uniques = pd.factorize(s.astype(object).where(s.notna(), None), sort=True)
            cols.append(_Col(name, "categorical", categories=list(uniques),
                             has_nulls=bool((codes < 0).any())))
            arrays.append(codes.astype(float))
    return cols, (np.column_stack(arrays) if arrays else np.empty((len(frame), 0)))


def _decode(cols: list[_Col], data: np.ndarray) -> pd.DataFrame:
    out: dict[str, object] = {}
    for j, c in enumerate(cols):
        v = data[:, j]
        if c.kind == "numeric":
            out[c.name] = v
        else:
            cats = np.array([*c.categories, None], dtype=object)
            codes = np.where(np.isnan(v) | (v < 0), len(c.categories), v).astype(int)
            out[c.name] = cats[codes]
    return pd.DataFrame(out)


class TabularModel(ABC):
    """A fitted model; `sample(n, seed)` returns a frame shaped like the fitted one."""

    method: str = ""

    def __init__(self, cols: list[_Col]) -> None:
        self.cols = cols
        self.columns = [c.name for c in cols]  # output order (the fitted frame's)

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """N new rows, columns in the fitted frame's order."""
        return self._sample(n, seed)[self.columns]

    @abstractmethod
    def _sample(self, n: int, seed: int | None) -> pd.DataFrame:
        """N rows in any column order."""


class CartModel(TabularModel):
    """Sequential decision trees; values are drawn from the real rows in the same leaf."""

    method = "cart"

    def __init__(self, cols: list[_Col], data: np.ndarray, min_leaf: int, seed: int) -> None:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        super().__init__(cols)
        self.data = data
        self.min_leaf = min_leaf
        self.trees: list[object | None] = []
        self.null_trees: list[object | None] = []
        n = len(data)
        for j, c in enumerate(cols):
            x = data[:, :j]
            y = data[:, j]
            null_tree = None
            if c.kind == "numeric" and c.has_nulls and j > 0:
                null_tree = DecisionTreeClassifier(min_samples_leaf=min_leaf, random_state=seed)
                null_tree.fit(x, np.isnan(y))
            self.null_trees.append(null_tree)
            present = ~np.isnan(y) if c.kind == "numeric" else np.ones(n, bool)
            if j == 0 or present.sum() < 2 * min_leaf:
                self.trees.append(None)
                continue
            if c.kind == "numeric":
                tree: object = DecisionTreeRegressor(min_samples_leaf=min_leaf, random_state=seed)
            else:
                tree = DecisionTreeClassifier(min_samples_leaf=min_leaf, random_state=seed)
            tree.fit(x[present], y[present])  # type: ignore[attr-defined]
            self.trees.append(tree)

    def _sample(self, n: int, seed: int | None) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        out = np.full((n, len(self.cols)), np.nan)
        for j, c in enumerate(self.cols):
            y = self.data[:, j]
            present_rows = np.ones(n, bool)
            if c.kind == "numeric" and c.has_nulls:
                null_tree = self.null_trees[j]
                if null_tree is None:
                    p_null = np.full(n, float(np.isnan(y).mean()))
                else:
                    proba = null_tree.predict_proba(out[:, :j])  # type: ignore[attr-defined]
                    classes = list(null_tree.classes_)  # type: ignore[attr-defined]
                    p_null = proba[:, classes.index(True)] if True in classes else np.zeros(n)
                present_rows = rng.random(n) >= p_null
            real_present = ~np.isnan(y) if c.kind == "numeric" else np.ones(len(y), bool)
            donors = y[real_present]
            if len(donors) == 0:
                continue
            m = int(present_rows.sum())
            tree = self.trees[j]
            if tree is None:
                picked = donors[rng.integers(0, len(donors), m)]
                spread = np.full(m, donors.std() if len(donors) > 1 else 0.0)
                counts = np.full(m, len(donors))
            else:
                real_leaf = tree.apply(self.data[real_present, :j])  # type: ignore[attr-defined]
                syn_leaf = tree.apply(out[present_rows, :j])  # type: ignore[attr-defined]
                order = np.argsort(real_leaf, kind="stable")
                leaves, starts, sizes = np.unique(real_leaf[order], return_index=True,
                                                  return_counts=True)
                pos = np.searchsorted(leaves, syn_leaf)
                offset = (rng.random(m) * sizes[pos]).astype(int)
                picked = donors[order][starts[pos] + offset]
                counts = sizes[pos]
                if c.kind == "numeric" and c.smooth:
                    sums = np.add.reduceat(donors[order], starts)
                    sq = np.add.reduceat(donors[order] ** 2, starts)
                    var = np.maximum(sq / sizes - (sums / sizes) ** 2, 0.0)
                    spread = np.sqrt(var)[pos]
                else:
                    spread = np.zeros(m)
            if c.kind == "numeric" and c.smooth:
                # Silverman's rule per leaf (scaled): a kernel density around the donor value.
                bw = SMOOTHING * spread * np.maximum(counts, 1) ** (-0.2)
                picked = np.clip(picked + rng.normal(0.0, 1.0, m) * bw, c.lo, c.hi)
            out[present_rows, j] = picked
        return _decode(self.cols, out)


class CopulaModel(TabularModel):
    """Gaussian copula with empirical marginals; categoricals as frequency intervals."""

    method = "copula"

    def __init__(self, cols: list[_Col], data: np.ndarray, seed: int) -> None:
        super().__init__(cols)
        rng = np.random.default_rng(seed)
        n = len(data)
        self.parts: list[tuple[str, int, np.ndarray]] = []  # (how, column, marginal)
        zs: list[np.ndarray] = []
        for j, c in enumerate(cols):
            y = data[:, j]
            if c.kind == "numeric":
                null = np.isnan(y)
                if c.has_nulls:
                    zs.append(self._cat_z(null.astype(float), 2, rng, j, "null"))
                ok = np.sort(y[~null])
                ranks = pd.Series(y).rank(method="first").to_numpy()
                u = np.where(null, rng.random(n), ranks / (len(ok) + 1))
                zs.append(ndtri(np.clip(u, 1e-6, 1 - 1e-6)))
                self.parts.append(("num", j, ok))
            else:
                codes = np.where(y < 0, len(c.categories), y).astype(int)
                zs.append(self._cat_z(codes.astype(float), len(c.categories) + 1, rng, j, "cat"))
        z = np.column_stack(zs) if zs else np.empty((n, 0))
        corr = np.corrcoef(z, rowvar=False) if z.shape[1] > 1 else np.eye(z.shape[1])
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        self.corr = corr + np.eye(len(corr)) * 1e-6
        self.order = self.parts[:]
        self.zcols = len(zs)

    def _cat_z(self, codes: np.ndarray, k: int, rng: np.random.Generator, j: int,
               how: str) -> np.ndarray:
        freq = np.bincount(codes.astype(int), minlength=k) / len(codes)
        cum = np.concatenate([[0.0], np.cumsum(freq)])
        self.parts.append((how, j, cum))
        u = cum[codes.astype(int)] + rng.random(len(codes)) * freq[codes.astype(int)]
        return ndtri(np.clip(u, 1e-6, 1 - 1e-6))

    def _sample(self, n: int, seed: int | None) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        z = rng.multivariate_normal(np.zeros(self.zcols), self.corr, size=n, method="cholesky")
        u = ndtr(z)
        out = np.full((n, len(self.cols)), np.nan)
        null = np.zeros((n, len(self.cols)), bool)
        for k, (how, j, marg) in enumerate(self.parts):
            if how == "num":
                if len(marg):
                    grid = np.arange(1, len(marg) + 1) / (len(marg) + 1)
                    out[:, j] = np.interp(u[:, k], grid, marg)
            else:
                code = np.clip(np.searchsorted(marg, u[:, k], side="right") - 1, 0,
                               len(marg) - 2)
                if how == "null":
                    null[:, j] = code == 1
                else:
                    out[:, j] = code
        out[null] = np.nan
        return _decode(self.cols, out)


def fit(frame: pd.DataFrame, kinds: dict[str, Kind], *, method: Method = "cart",
        seed: int = 0, min_leaf: int = MIN_LEAF) -> TabularModel:
    """Fit `method` to `frame` (columns as described in the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"unknown model '{method}'; choose one of {', '.join(METHODS)}")
    order = sorted(frame.columns, key=lambda c: kinds[c] != "categorical")  # stable
    cols, data = _encode(frame[order], kinds)
    model: TabularModel
    if method == "copula":
        model = CopulaModel(cols, data, seed)
    else:
        model = CartModel(cols, data, max(1, min_leaf), seed)
    model.columns = list(frame.columns)
    return model
