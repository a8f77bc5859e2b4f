"""Per-modality feature blocks: a float DataFrame indexed by the entity key, columns named
`<modality>__<feature>`. Text becomes all-MiniLM-L6-v2 embeddings (384 dims), image rows give
numeric columns or statistics of their files, tabular rows give numeric columns and one-hot
categories. Then per-modality normalization and optional PCA."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.fusion.image_stats import IMAGE_STATS, file_statistics

if TYPE_CHECKING:
    from datasetgen_assets.steps.fusion import Modality

EMBEDDING_DIMS = 384


@dataclass
class Block:
    """The features of one modality (or fused group) for the entities it covers."""

    name: str
    kind: str
    features: pd.DataFrame  # index: entity key; float64 columns `<name>__<feature>`
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> pd.Index:
        return self.features.index

    @property
    def width(self) -> int:
        return self.features.shape[1]


def _text_of(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    parts = [frame[c].astype("str").where(frame[c].notna(), "") for c in columns]
    text = parts[0]
    for p in parts[1:]:
        text = text.str.cat(p, sep="\n")
    return text.str.strip()


def text_block(m: Modality, frame: pd.DataFrame, encoder: Any = None) -> Block:
    """MiniLM embeddings of the modality's columns joined by newlines (about 35 ms per
    distinct text per CPU core); rows whose text is empty do not cover this modality."""
    text = _text_of(frame, m.columns)
    keep = text != ""
    if encoder is None:
        from datasetgen_resources.embeddings import default_encoder

        encoder = default_encoder()
    unique = list(dict.fromkeys(text[keep].tolist()))  # each distinct text encoded once
    table = encoder.encode(unique) if unique else np.zeros((0, EMBEDDING_DIMS), np.float32)
    pos = {t: i for i, t in enumerate(unique)}
    vectors = table[[pos[t] for t in text[keep].tolist()]] if unique else table
    cols = [f"{m.name}__emb{i}" for i in range(vectors.shape[1])]
    notes = [f"{int((~keep).sum())} rows with empty text left out"] if (~keep).any() else []
    return Block(m.name, "text", pd.DataFrame(vectors.astype(np.float64), index=frame.index[keep],
                                              columns=cols), notes)


def _numeric(frame: pd.DataFrame, col: str, modality: str) -> pd.Series:
    s = frame[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if not pd.api.types.is_numeric_dtype(s):
        conv = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & conv.isna()
        if bad.any():
            raise StepInputError(
                f"fusion: modality '{modality}', column '{col}' is not numeric (e.g."
                f" {s[bad].iloc[0]!r})",
                fix="give numeric feature columns for kind image, or use kind tabular")
        s = conv
    return s.astype("float64")


def image_block(m: Modality, frame: pd.DataFrame, resolve: Callable[[str], str]) -> Block:
    """The given numeric columns, or IMAGE_STATS of each row's image file (an empty cell:
    the entity has no image)."""
    if m.columns:
        feats = pd.DataFrame({f"{m.name}__{c}": _numeric(frame, c, m.name) for c in m.columns},
                             index=frame.index)
        return Block(m.name, "image", feats)
    assert m.image_column is not None
    rows: dict[Any, dict[str, float]] = {}
    cache: dict[str, dict[str, float]] = {}
    for pos, (idx, ref) in enumerate(frame[m.image_column].items()):
        if ref is None or (isinstance(ref, float) and np.isnan(ref)) or not str(ref).strip():
            continue
        ref = str(ref).strip()
        try:
            if ref not in cache:
                cache[ref] = file_statistics(ref, resolve)
        except StepInputError as exc:
            raise StepInputError(f"fusion: modality '{m.name}', row {pos + 1}, column"
                                 f" '{m.image_column}': {exc.message}", fix=exc.fix) from None
        rows[idx] = cache[ref]
    feats = pd.DataFrame.from_dict(rows, orient="index", columns=IMAGE_STATS)
    feats = feats.reindex([i for i in frame.index if i in rows]).astype("float64")
    feats.columns = [f"{m.name}__{c}" for c in IMAGE_STATS]
    return Block(m.name, "image", feats)


def tabular_block(m: Modality, frame: pd.DataFrame) -> Block:
    """Numeric columns as they are; other columns one-hot (`<col>=<value>`), the
    `max_categories` most frequent values each, the rest in `<col>=__other`."""
    out: dict[str, pd.Series] = {}
    for c in m.columns:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            out[f"{m.name}__{c}"] = s.astype("float64")
            continue
        values = s.astype("str").where(s.notna(), None)
        top = values.value_counts().index[: m.max_categories].tolist()
        for v in top:
            out[f"{m.name}__{c}={v}"] = (values == v).astype("float64")
        rest = values.notna() & ~values.isin(top)
        if rest.any():
            out[f"{m.name}__{c}=__other"] = rest.astype("float64")
    return Block(m.name, "tabular", pd.DataFrame(out, index=frame.index))


def impute(block: Block) -> Block:
    """Missing numeric cells -> the column mean (0 when the column is all missing)."""
    f = block.features
    n = int(f.isna().sum().sum())
    if not n:
        return block
    f = f.fillna(f.mean()).fillna(0.0)
    return Block(block.name, block.kind, f, [*block.notes, f"{n} missing cells filled with"
                                             " the column mean"])


def normalize(block: Block, how: str, balance: bool = False) -> Block:
    """Per-feature scaling over the entities the block covers: standard (z-score; constant
    features become 0), minmax (0-1) or none; `balance` divides by sqrt(features)."""
    f = block.features
    if how == "standard" and len(f):
        std = f.std(ddof=0).replace(0.0, 1.0)
        f = (f - f.mean()) / std
    elif how == "minmax" and len(f):
        span = (f.max() - f.min()).replace(0.0, 1.0)
        f = (f - f.min()) / span
    if balance and f.shape[1]:
        f = f / np.sqrt(f.shape[1])
    return Block(block.name, block.kind, f, block.notes)


def reduce(block: Block, dims: int, seed: int = 0) -> Block:
    """PCA to `dims` components (fewer when the block has fewer entities or features)."""
    from sklearn.decomposition import PCA

    f = block.features
    k = min(dims, f.shape[0], f.shape[1])
    notes = list(block.notes)
    if k < dims:
        notes.append(f"reduced to {k} components, not {dims} (only {f.shape[0]} entities /"
                     f" {f.shape[1]} features)")
    if k == 0:
        return Block(block.name, block.kind, f.iloc[:, :0], notes)
    pca = PCA(n_components=k, random_state=seed)
    z = pca.fit_transform(f.to_numpy())
    ratio = float(pca.explained_variance_ratio_.sum()) if f.shape[0] > 1 else 1.0
    notes.append(f"PCA {f.shape[1]} -> {k} dims keeps {ratio:.0%} of the variance")
    cols = [f"{block.name}__pc{i}" for i in range(k)]
    return Block(block.name, block.kind, pd.DataFrame(z, index=f.index, columns=cols), notes)


def modality_block(m: Modality, frame: pd.DataFrame, resolve: Callable[[str], str],
                   normalize_how: str, balance: bool, seed: int) -> Block:
    """Features of one modality, indexed by entity key: built, imputed, normalized, then
    reduced (and normalized again) when `dims` is set."""
    if m.kind == "text":
        block = text_block(m, frame)
    elif m.kind == "image":
        block = image_block(m, frame, resolve)
    else:
        block = tabular_block(m, frame)
    block = normalize(impute(block), normalize_how)
    if m.dims is not None:
        block = normalize(reduce(block, m.dims, seed), normalize_how)
    return normalize(block, "none", balance)
