"""The `fusion` step: the five strategies on small deterministic data, real MiniLM text
embeddings, image statistics from files, exact coverage and weights, learned attention that
favours the informative modality, bad inputs, and a pipeline materialized through Dagster."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pymupdf
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import PipelineValidationError, StepInputError
from datasetgen_assets.fusion.combine import weighted_mean, weighted_vote
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.steps import fusion
from datasetgen_assets.steps.fusion import FusionConfig
from datasetgen_assets.steps.registry import StepContext
from datasetgen_resources import datasetgen_resources

A = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "y": [10.0, 10.0, 20.0, 20.0]})
B = pd.DataFrame({"id": [2, 3, 4, 5, 6], "z": [5.0, 6.0, 7.0, 8.0, 9.0]})


def _cfg(strategy: str, modalities: list[dict], **kw) -> FusionConfig:
    return FusionConfig(key="id", strategy=strategy, modalities=modalities, **kw)


def _run(cfg: FusionConfig, *frames: pd.DataFrame, base: Path | None = None):
    return fusion.run(list(frames), cfg, StepContext(base_dir=base or Path.cwd()))


def _z(values: list[float]) -> np.ndarray:
    v = np.array(values)
    return (v - v.mean()) / v.std()


AB = [{"name": "a", "kind": "image", "columns": ["x", "y"]},
      {"name": "b", "kind": "tabular", "columns": ["z"]}]


# ---- early ---------------------------------------------------------------------------------
def test_early_concatenates_normalized_blocks_in_declared_order():
    res = _run(_cfg("early", AB), A, B)
    out = res.frame
    assert list(out.columns) == ["id", "a__x", "a__y", "b__z"]
    assert out["id"].tolist() == [2, 3, 4]  # drop: entities in both modalities
    # normalized per modality over the entities it covers, then aligned
    np.testing.assert_allclose(out["a__x"], _z([1, 2, 3, 4])[1:])
    np.testing.assert_allclose(out["b__z"], _z([5, 6, 7, 8, 9])[:3])
    r = res.report
    assert r["coverage"] == {"a": round(4 / 6, 6), "b": round(5 / 6, 6)}
    assert r["entities"] == 3 and r["entities_total"] == 6 and r["entities_dropped"] == 3
    assert r["feature_counts"] == {"a": 2, "b": 1}
    assert "| a | image | 66.7% | 2 |" in r["markdown"]
    # declared order wins over input order
    swapped = _run(_cfg("early", AB[::-1]), B, A).frame
    assert list(swapped.columns) == ["id", "b__z", "a__x", "a__y"]
    assert swapped["id"].tolist() == [2, 3, 4]


def test_early_fill_keeps_every_entity_with_presence_flags():
    res = _run(_cfg("early", AB, missing="fill", fill_value=-9, normalize="minmax"), A, B)
    out = res.frame.set_index("id")
    assert out.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert out.loc[1, "b__z"] == -9 and out.loc[1, "b__present"] == 0.0
    assert out.loc[6, "a__x"] == -9 and out.loc[6, "a__present"] == 0.0
    assert out.loc[4, "a__x"] == 1.0 and out.loc[5, "b__z"] == 0.75  # minmax over present
    assert res.report["entities_dropped"] == 0


def test_text_embeddings_are_real_minilm():
    from datasetgen_resources.embeddings import default_encoder

    sentences = ["A cat sits on the mat.", "A kitten is sitting on a rug.",
                 "Quarterly revenue rose five percent.", "The dog sleeps."]
    text = pd.DataFrame({"id": ["a", "b", "c", "d"], "t": sentences})
    other = pd.DataFrame({"id": ["a", "b", "c", "d"], "n": [1.0, 2.0, 3.0, 4.0]})
    res = _run(_cfg("early", [{"name": "txt", "kind": "text", "columns": ["t"]},
                              {"name": "num", "kind": "tabular", "columns": ["n"]}],
                    normalize="none"), text, other)
    emb = res.frame[[f"txt__emb{i}" for i in range(384)]].to_numpy()
    np.testing.assert_allclose(emb, default_encoder().encode(sentences), atol=1e-6)
    sim = emb @ emb.T
    assert sim[0, 1] > 0.5 > sim[0, 2]  # cat/kitten closer than cat/revenue
    # PCA reduction keeps the neighbourhood
    red = _run(_cfg("early", [{"name": "txt", "kind": "text", "columns": ["t"], "dims": 3},
                              {"name": "num", "kind": "tabular", "columns": ["n"]}]),
               text, other)
    assert [c for c in red.frame.columns if c.startswith("txt__")] == \
        ["txt__pc0", "txt__pc1", "txt__pc2"]
    assert "PCA 384 -> 3 dims" in red.report["markdown"]


def test_image_statistics_from_files(tmp_path: Path):
    def png(name: str, rgb: tuple[int, int, int], w: int, h: int) -> str:
        pm = pymupdf.Pixmap(pymupdf.csRGB, w, h, bytes(rgb) * (w * h), False)
        (tmp_path / name).write_bytes(pm.tobytes("png"))
        return name

    imgs = pd.DataFrame({"id": [1, 2, 3], "path": [png("r.png", (255, 0, 0), 40, 20),
                                                   png("b.png", (0, 0, 255), 10, 10), None]})
    tab = pd.DataFrame({"id": [1, 2, 3], "n": [1.0, 2.0, 3.0]})
    res = _run(_cfg("early", [{"name": "img", "kind": "image", "image_column": "path"},
                              {"name": "t", "kind": "tabular", "columns": ["n"]}],
                    normalize="none", missing="fill"), imgs, tab, base=tmp_path)
    out = res.frame.set_index("id")
    assert out.loc[1, ["img__width", "img__height", "img__aspect_ratio"]].tolist() == \
        [40.0, 20.0, 2.0]
    assert out.loc[1, "img__mean_r"] == 255.0 and out.loc[1, "img__mean_b"] == 0.0
    assert out.loc[2, "img__mean_b"] == 255.0 and out.loc[2, "img__contrast"] < 1e-9
    assert out.loc[3, "img__present"] == 0.0
    assert res.report["coverage"]["img"] == round(2 / 3, 6)
    imgs.loc[1, "path"] = "gone.png"
    with pytest.raises(StepInputError, match=r"modality 'img', row 2, column 'path':"
                       r" .*gone\.png"):
        _run(_cfg("early", [{"name": "img", "kind": "image", "image_column": "path"},
                            {"name": "t", "kind": "tabular", "columns": ["n"]}]),
             imgs, tab, base=tmp_path)


# ---- late ----------------------------------------------------------------------------------
def test_weighted_vote_and_mean_arithmetic():
    preds = pd.DataFrame({"text": ["spam", "spam", None, "ham"],
                          "image": ["ham", "spam", "ham", "spam"]})
    labels, conf = weighted_vote(preds, {"text": 0.3, "image": 0.7})
    assert labels.tolist() == ["ham", "spam", "ham", "spam"]  # image outweighs text
    assert conf.round(6).tolist() == [0.7, 1.0, 1.0, 0.7]
    labels, _ = weighted_vote(preds, {"text": 0.5, "image": 0.5})
    assert labels.iloc[0] == "spam"  # a tie goes to the first declared modality
    nums = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [3.0, np.nan, np.nan]})
    mean, support = weighted_mean(nums, {"a": 1.0, "b": 3.0})
    assert mean.iloc[0] == 2.5 and mean.iloc[1] == 2.0 and np.isnan(mean.iloc[2])
    assert support.tolist()[:2] == [1.0, 0.25]


def test_late_vote_picks_the_heavier_modality_on_conflict():
    text = pd.DataFrame({"id": [1, 2, 3], "label": ["spam", "ham", "spam"]})
    image = pd.DataFrame({"id": [1, 2, 3], "pred": ["ham", "ham", None]})
    tab = pd.DataFrame({"id": [1, 2, 4], "guess": ["ham", "spam", "spam"]})
    mods = [{"name": "text", "kind": "text", "columns": ["label"], "prediction": "label",
             "weight": 3},
            {"name": "image", "kind": "image", "columns": ["pred"], "prediction": "pred",
             "weight": 1},
            {"name": "tab", "kind": "tabular", "columns": ["guess"], "prediction": "guess",
             "weight": 1}]
    res = _run(_cfg("late", mods, missing="fill"), text, image, tab)
    out = res.frame.set_index("id")
    # entity 1: text (3) says spam, image+tab (2) say ham -> spam with 3/5
    assert out.loc[1, "fused"] == "spam" and out.loc[1, "fused_confidence"] == 0.6
    assert out.loc[2, "fused"] == "ham" and out.loc[2, "fused_confidence"] == 0.8
    assert out.loc[4, "fused"] == "spam" and out.loc[4, "fused_confidence"] == 1.0
    assert list(out.columns[:3]) == ["text__label", "image__pred", "tab__guess"]
    assert res.report["weights"] == {"text": 0.6, "image": 0.2, "tab": 0.2}
    # coverage of a late modality: entities with a prediction
    assert res.report["coverage"] == {"text": 0.75, "image": 0.5, "tab": 0.75}
    numeric = _run(_cfg("late", [
        {"name": "p", "kind": "tabular", "columns": ["v"], "prediction": "v", "weight": 1},
        {"name": "q", "kind": "tabular", "columns": ["w"], "prediction": "w", "weight": 3}]),
        pd.DataFrame({"id": [1, 2], "v": [10.0, 20.0]}),
        pd.DataFrame({"id": [1, 2], "w": [30.0, 40.0]})).frame
    assert numeric["fused"].tolist() == [25.0, 35.0] and "fused_support" in numeric


# ---- hybrid and hierarchical ----------------------------------------------------------------
def _blobs(n: int = 40, seed: int = 1) -> tuple[pd.DataFrame, ...]:
    """`good` predicts `label`, `noise` does not; `vote` is a late opinion."""
    rng = np.random.default_rng(seed)
    label = np.array(["cat", "dog"] * (n // 2))
    good = pd.DataFrame({"id": range(n), "g1": (label == "dog") * 2.0 + rng.normal(0, .3, n),
                         "g2": rng.normal(0, 1, n), "label": label})
    noise = pd.DataFrame({"id": range(n), "n1": rng.normal(0, 1, n),
                          "n2": rng.normal(0, 1, n), "n3": rng.normal(0, 1, n)})
    vote = pd.DataFrame({"id": range(n), "opinion": rng.choice(["cat", "dog"], n)})
    return good, noise, vote


def test_hybrid_early_features_and_late_vote():
    good, noise, vote = _blobs()
    mods = [{"name": "good", "kind": "tabular", "columns": ["g1", "g2"], "fusion": "early"},
            {"name": "noise", "kind": "tabular", "columns": ["n1"], "fusion": "early"},
            {"name": "vote", "kind": "tabular", "columns": ["opinion"], "fusion": "late",
             "prediction": "opinion"}]
    res = _run(_cfg("hybrid", mods, attention={"label": "label"}, early_weight=3), good,
               noise, vote)
    out = res.frame
    assert list(out.columns[:5]) == ["id", "label", "good__g1", "good__g2", "noise__n1"]
    assert {"vote__opinion", "early__prediction", "fused", "fused_confidence"} <= \
        set(out.columns)
    assert res.report["weights"] == {"vote": 0.25, "early": 0.75}
    # the early model (3x the weight) decides every conflict
    conflict = out["early__prediction"] != out["vote__opinion"]
    assert conflict.any() and (out.loc[conflict, "fused"] == out.loc[conflict,
                                                                       "early__prediction"]).all()
    assert res.report["hybrid"]["early_model"]["metric"] > 0.9
    # without a label, only the late modalities vote
    plain = _run(_cfg("hybrid", mods), good, noise, vote).frame
    assert (plain["fused"] == plain["vote__opinion"]).all()


def test_hierarchical_levels_as_declared():
    good, noise, vote = _blobs(20)
    mods = [{"name": "good", "kind": "tabular", "columns": ["g1", "g2"]},
            {"name": "noise", "kind": "tabular", "columns": ["n1", "n2", "n3"]},
            {"name": "vote", "kind": "tabular", "columns": ["opinion"]}]
    groups = [{"name": "numbers", "members": ["good", "noise"], "dims": 2},
              {"name": "all", "members": ["numbers", "vote"]}]
    res = _run(_cfg("hierarchical", mods, groups=groups), good, noise, vote)
    out = res.frame
    assert list(out.columns) == ["id", "numbers__pc0", "numbers__pc1", "vote__opinion=cat",
                                 "vote__opinion=dog"]
    levels = {lvl["group"]: lvl for lvl in res.report["levels"]}
    assert levels["numbers"]["level"] == 1 and levels["all"]["level"] == 2
    assert levels["all"]["features"] == 4 and res.report["top_groups"] == ["all"]
    np.testing.assert_allclose(out["numbers__pc0"].std(ddof=0), 1.0)
    assert "level 2 group `all` = numbers + vote -> 4 features" in res.report["markdown"]
    # two top-level groups: both come out
    two = _run(_cfg("hierarchical", mods, groups=[
        {"name": "g", "members": ["good"], "dims": 1},
        {"name": "h", "members": ["noise", "vote"]}]), good, noise, vote).frame
    assert two.columns[1] == "g__pc0" and two.columns[2] == "noise__n1"


# ---- attention --------------------------------------------------------------------------------
def test_learned_attention_favours_the_informative_modality():
    good, noise, _ = _blobs(60)
    mods = [{"name": "noise", "kind": "tabular", "columns": ["n1", "n2", "n3"]},
            {"name": "good", "kind": "tabular", "columns": ["g1", "g2"]}]
    res = _run(_cfg("attention", mods, attention={"label": "label", "folds": 3}), noise, good)
    w = res.report["weights"]
    assert w["good"] > 0.95 and w["noise"] < 0.05 and abs(sum(w.values()) - 1) < 1e-9
    att = res.report["attention"]
    assert att["scores"]["good"] > 0.9 > 0.7 > att["scores"]["noise"]
    out = res.frame
    assert (out["fused"] == out["label"]).mean() > 0.9
    # features are scaled by their weight; per-entity weights sum to 1
    np.testing.assert_allclose(out["good__g1"].std(ddof=0), w["good"], rtol=1e-6)
    np.testing.assert_allclose(out["good__weight"] + out["noise__weight"], 1.0)
    assert "Weights learned from label 'label'" in res.report["markdown"]
    # unlabelled entities get the prediction of models fit on every labelled one
    hidden = good["label"].copy()
    part = good.assign(label=good["label"].where(good.index < 48, None))
    res = _run(_cfg("attention", mods, attention={"label": "label"}), noise, part)
    tail = res.frame.set_index("id").loc[48:, "fused"]
    assert tail.notna().all() and (tail == hidden[48:].to_numpy()).mean() >= 0.9
    assert res.report["weights"]["good"] > 0.95


def test_attention_with_fixed_weights_and_regression():
    mods = [{"name": "a", "kind": "image", "columns": ["x", "y"], "weight": 3},
            {"name": "b", "kind": "tabular", "columns": ["z"], "weight": 1}]
    res = _run(_cfg("attention", mods, missing="fill"), A, B)
    assert res.report["weights"] == {"a": 0.75, "b": 0.25}
    out = res.frame.set_index("id")
    np.testing.assert_allclose(out.loc[[1, 2, 3, 4], "a__x"], 0.75 * _z([1, 2, 3, 4]))
    assert out.loc[1, "a__weight"] == 1.0 and out.loc[1, "b__weight"] == 0.0  # b absent
    assert out.loc[2, "a__weight"] == 0.75
    rng = np.random.default_rng(0)
    n = 40
    x = rng.normal(0, 1, n)
    sig = pd.DataFrame({"id": range(n), "s": x, "target": 3 * x + rng.normal(0, .1, n)})
    noi = pd.DataFrame({"id": range(n), "r": rng.normal(0, 1, n)})
    reg = _run(_cfg("attention", [{"name": "sig", "kind": "tabular", "columns": ["s"]},
                                  {"name": "noi", "kind": "tabular", "columns": ["r"]}],
                    attention={"label": "target"}), sig, noi)
    assert reg.report["attention"]["task"] == "regression"
    assert reg.report["weights"]["sig"] > 0.99 and reg.report["attention"]["fused_score"] > 0.9


# ---- bad input --------------------------------------------------------------------------------
def test_bad_inputs_give_clear_errors():
    with pytest.raises(StepInputError, match=r"modality 'b', key: unknown column 'id'.*"
                       r"set the modality's `key`"):
        _run(_cfg("early", AB), A, B.rename(columns={"id": "ident"}))
    res = _run(_cfg("early", [AB[0], {**AB[1], "key": "ident"}]), A,
               B.rename(columns={"id": "ident"}))
    assert res.frame["id"].tolist() == [2, 3, 4]
    with pytest.raises(StepInputError, match=r"different types \(a: number, b: string\).*"
                       r"cast: \{key: str\}"):
        _run(_cfg("early", AB), A, B.astype({"id": "str"}))
    with pytest.raises(StepInputError, match=r"no entity \('id'\) is present in every"
                       r" modality \(a: 4, b: 2 entities\).*missing: fill"):
        _run(_cfg("early", AB), A, pd.DataFrame({"id": [8, 9], "z": [1.0, 2.0]}))
    with pytest.raises(StepInputError, match=r"modalities 'a', 'b' share no 'id' value"):
        _run(_cfg("early", AB, missing="fill"), A, pd.DataFrame({"id": [8, 9],
                                                                   "z": [1.0, 2.0]}))
    with pytest.raises(StepInputError, match=r"modality 'a' has 1 duplicate key\(s\) in 'id'"
                       r" \(e\.g\. 3\).*aggregate"):
        _run(_cfg("early", AB), pd.concat([A, A.iloc[[2]]]), B)
    with pytest.raises(StepInputError, match="3 inputs but 2 modalities"):
        _run(_cfg("early", AB), A, B, B)
    with pytest.raises(StepInputError, match=r"modality 'a', column 'x' is not numeric"):
        _run(_cfg("early", AB), A.astype({"x": "str"}).assign(x="big"), B)
    with pytest.raises(StepInputError, match=r"output column 'a__x' is produced twice"):
        _run(_cfg("attention", [{**AB[0], "prediction": "x"}, AB[1]]), A, B)
    for bad, msg in [
        ({"strategy": "late"}, "needs `prediction` on every modality; missing on a, b"),
        ({"strategy": "hierarchical", "groups": [{"name": "g", "members": ["a", "c"]}]},
         "unknown member 'c'"),
        ({"strategy": "hierarchical", "groups": [{"name": "g", "members": ["a"]}]},
         "modalities in no group: b"),
        ({"strategy": "hybrid"}, "needs `fusion: early|late` on every modality"),
        ({"strategy": "early", "attention": {"label": "y"}}, "for strategies attention"),
    ]:
        with pytest.raises(ValidationError, match=msg.replace("|", r"\|").replace(
                "(", r"\(")):
            FusionConfig(key="id", modalities=AB, **bad)
    with pytest.raises(ValidationError, match="needs `columns` \\(the text\\)"):
        FusionConfig(key="id", strategy="early",
                     modalities=[{"name": "t", "kind": "text"}, AB[1]])


# ---- pipeline -------------------------------------------------------------------------------
def test_pipeline_validates_and_materializes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "reviews.csv").write_text(
        "sku,review\nA1,Sturdy steel hammer for heavy work\nB2,Soft plush toy bear\n"
        "C3,Crisp green apples\nD4,Cordless drill with two batteries\n")
    (tmp_path / "items.csv").write_text(
        "sku,price,category\nA1,19.5,tools\nB2,9.0,toys\nC3,2.5,food\nD4,89.0,tools\n"
        "E5,4.0,food\n")
    path = tmp_path / "fuse.yaml"
    text = f"""name: fusion_demo
steps:
  - id: reviews
    type: csv
    config: {{path: {tmp_path / 'reviews.csv'}}}
  - id: items
    type: csv
    config: {{path: {tmp_path / 'items.csv'}}}
  - id: fused
    type: fusion
    depends_on: [reviews, items]
    config:
      key: sku
      strategy: early
      missing: fill
      keep_columns: [category]
      modalities:
        - {{name: text, kind: text, columns: [review], dims: 2}}
        - {{name: item, kind: tabular, columns: [price]}}
"""
    path.write_text(text.replace("columns: [price]", "columns: [prize]"))
    with pytest.raises(PipelineValidationError, match=r"fuse\.yaml:\d+: step 'fused', field"
                       r" 'config\.modalities\.1\.columns': unknown column 'prize'\. Did you"
                       r" mean 'price'"):
        load_pipeline(path)
    path.write_text(text)
    monkeypatch.setenv("DATASETGEN_PROJECT_DIR", str(tmp_path))
    built = build_pipeline(load_pipeline(path))
    res = dg.materialize(built["assets"], resources=datasetgen_resources(
        str(tmp_path / "assets")), instance=dg.DagsterInstance.ephemeral())
    assert res.success
    meta = res.asset_materializations_for_node("fusion_demo__fused")[0].metadata
    assert "| text | text | 80.0% | 2 |" in meta["summary"].value
    assert meta["report"].value["coverage"] == {"text": 0.8, "item": 1.0}
    out = pd.read_parquet(next((tmp_path / "assets").rglob("fused*")))
    assert out.columns.tolist() == ["sku", "category", "text__pc0", "text__pc1",
                                    "text__present", "item__price", "item__present"]
    assert out["sku"].tolist() == ["A1", "B2", "C3", "D4", "E5"]


def test_planned_columns_match_the_output():
    from datasetgen_assets.fusion import planning

    good, noise, vote = _blobs(12)
    text = pd.DataFrame({"id": range(12), "t": ["an item"] * 12})  # one text to encode
    cases = [
        (_cfg("early", [{"name": "txt", "kind": "text", "columns": ["t"]},
                        {"name": "img", "kind": "image", "columns": ["n1", "n2"]}],
              missing="fill", keep_columns=["t"]), [text, noise]),
        (_cfg("late", [{"name": "v", "kind": "tabular", "columns": ["opinion"],
                        "prediction": "opinion"},
                       {"name": "g", "kind": "tabular", "columns": ["label"],
                        "prediction": "label"}], late_type="categorical"), [vote, good]),
        (_cfg("attention", [{"name": "img", "kind": "image", "columns": ["n1"]},
                            {"name": "g", "kind": "image", "columns": ["g1", "g2"]}],
              attention={"label": "label"}), [noise, good]),
        (_cfg("hybrid", [{"name": "img", "kind": "image", "columns": ["n1"], "fusion": "early"},
                         {"name": "v", "kind": "tabular", "columns": ["opinion"],
                          "prediction": "opinion", "fusion": "late"}],
              late_type="categorical"), [noise, vote]),
    ]
    for cfg, frames in cases:
        planned = planning.infer_columns(cfg, [list(f.columns) for f in frames], StepContext())
        assert planned == list(_run(cfg, *frames).frame.columns), cfg.strategy
    # unknown until the data is seen: one-hot categories, PCA sizes
    assert planning.infer_columns(_cfg("early", AB), [list(A.columns), list(B.columns)],
                                  StepContext()) is None
