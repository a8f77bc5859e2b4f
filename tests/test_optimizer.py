"""The optimizer: which rules fire, their switches, fail-closed cases, and a property test that
optimized and unoptimized plans give the same data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasetgen_assets.pipeline.execute import run_plan
from datasetgen_assets.pipeline.optimizer import explain, initial_plan, optimize
from datasetgen_assets.pipeline.spec import load_pipeline, parse_pipeline

ROOT = Path(__file__).resolve().parent.parent


def pipeline(text: str, base: Path):
    return parse_pipeline(textwrap.dedent(text), file="p.yaml", base_dir=base)


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(1)
    n = 300
    a = pd.DataFrame({"id": np.arange(n), "k": rng.integers(0, 12, n),
                      "x": np.where(rng.random(n) < 0.1, np.nan, rng.random(n).round(3)),
                      "s": rng.choice(["a", "b", "c", "d"], n)})
    b = pd.DataFrame({"k": np.arange(0, 15), "y": rng.integers(0, 5, 15),
                      "t": rng.choice(["p", "q"], 15)})
    c = pd.DataFrame({"k": np.arange(0, 10), "z": rng.random(10).round(3)})
    wide = pd.DataFrame({f"c{i}": rng.random(50) for i in range(50)})
    a.to_parquet(d / "a.parquet", index=False)
    b.to_csv(d / "b.csv", index=False)
    c.to_parquet(d / "c.parquet", index=False)
    wide.to_parquet(d / "wide.parquet", index=False)
    return d


def leaves_equal(p) -> None:
    plain = run_plan(initial_plan(p))
    fast = run_plan(optimize(p))
    for sid in p.order:
        if p.consumers(sid):
            continue
        a, b = plain[sid], fast[sid]
        assert list(a.columns) == list(b.columns), sid
        key = list(a.columns)
        a = a.sort_values(key, na_position="last").reset_index(drop=True)
        b = b.sort_values(key, na_position="last").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False)


def test_filter_moves_through_two_joins_into_the_source():
    p = load_pipeline(ROOT / "pipelines" / "customer_orders.yaml")
    plan = optimize(p)
    assert plan.nodes["recent_paid"].passthrough
    assert plan.nodes["orders"].output_filters == [p.configs["recent_paid"].condition]
    fired = [f for f in plan.firings if f.rule == "filter_pushdown"]
    assert fired and "'orders'" in fired[0].detail
    text = explain(p)
    assert "plan as written:" in text and "optimized plan:" in text
    assert "filter_pushdown on 'recent_paid'" in text


def test_rules_can_be_switched_off(tables):
    text = f"""
        name: p
        optimize: {{filter_pushdown: false, projection_pushdown: false}}
        steps:
          - {{id: a, type: parquet, config: {{path: {tables}/a.parquet}}}}
          - {{id: f, type: filter, depends_on: [a], config: {{condition: "x > 0.5"}}}}
          - {{id: g, type: aggregate, depends_on: [f],
             config: {{group_by: [k], metrics: [{{func: count}}]}}}}
    """
    assert optimize(pipeline(text, tables)).firings == []
    on = optimize(pipeline(text.replace("filter_pushdown: false, ", ""), tables))
    assert [f.rule for f in on.firings] == ["filter_pushdown"]
    assert optimize(pipeline(text.replace("optimize: {filter_pushdown: false, "
                                          "projection_pushdown: false}", "optimize: false"),
                             tables)).firings == []


def test_projection_reads_only_used_columns(tables):
    p = pipeline(f"""
        name: p
        steps:
          - {{id: w, type: parquet, config: {{path: {tables}/wide.parquet}}}}
          - {{id: f, type: filter, depends_on: [w], config: {{condition: "c7 > 0.5"}}}}
          - {{id: g, type: aggregate, depends_on: [f],
             config: {{group_by: [],
                       metrics: [{{func: sum, column: c1}}, {{func: max, column: c2}}]}}}}
    """, tables)
    plan = optimize(p)
    assert plan.nodes["w"].config.columns == ["c1", "c2", "c7"]
    assert plan.nodes["w"].keep_columns == ["c1", "c2"]  # c7 is only read by the pushed filter
    leaves_equal(p)


def test_fail_closed_cases(tables):
    base = f"""
        name: p
        steps:
          - {{id: a, type: parquet, config: {{path: {tables}/a.parquet}}}}
          - {{id: b, type: csv, config: {{path: {tables}/b.csv}}}}
    """
    # a filter on the right side of a left join must stay above the join
    p = pipeline(base + """
          - {id: j, type: join, depends_on: [a, b], config: {how: left, on: [k]}}
          - {id: f, type: filter, depends_on: [j], config: {condition: "y > 2"}}
    """, tables)
    plan = optimize(p)
    assert plan.nodes["j"].output_filters == ["y > 2"] and not plan.nodes["b"].output_filters
    leaves_equal(p)
    # a step read by two consumers keeps all its rows
    p = pipeline(base + """
          - {id: s, type: sort, depends_on: [a], config: {by: [id]}}
          - {id: f, type: filter, depends_on: [s], config: {condition: "x > 0.5"}}
          - {id: g, type: filter, depends_on: [s], config: {condition: "x < 0.2"}}
    """, tables)
    plan = optimize(p)
    assert not plan.nodes["a"].output_filters and not plan.nodes["f"].passthrough
    # nothing moves below a top-N sort or a custom function
    p = pipeline(base + """
          - {id: s, type: sort, depends_on: [a], config: {by: [x], limit: 10}}
          - {id: f, type: filter, depends_on: [s], config: {condition: "k > 3"}}
          - {id: c, type: custom_python, depends_on: [f],
             config: {function: "examples.transforms:price_bands", kwargs: {column: x}}}
          - {id: g, type: filter, depends_on: [c], config: {condition: "price_band = 'budget'"}}
    """, tables)
    plan = optimize(p)
    assert plan.nodes["s"].output_filters == ["k > 3"] and not plan.nodes["a"].output_filters
    assert plan.nodes["c"].output_filters == ["price_band = 'budget'"]
    leaves_equal(p)


def test_join_reorder_smallest_first(tables):
    p = pipeline(f"""
        name: p
        steps:
          - {{id: a, type: parquet, config: {{path: {tables}/a.parquet}}}}
          - {{id: c, type: parquet, config: {{path: {tables}/c.parquet}}}}
          - {{id: b, type: csv, config: {{path: {tables}/b.csv}}}}
          - {{id: j, type: join, depends_on: [a, b, c], config: {{how: inner, on: [k]}}}}
    """, tables)
    plan = optimize(p)
    node = plan.nodes["j"]
    assert node.input_order is not None and node.input_order[0] != 0
    assert any(f.rule == "join_reorder" for f in plan.firings)
    leaves_equal(p)


CONDITIONS = [("x > 0.5", {"x"}), ("s in ('a', 'b')", {"s"}), ("k between 2 and 8", {"k"}),
              ("x is null", {"x"}), ("not (x < 0.3) or s = 'c'", {"x", "s"}),
              ("y >= 2", {"y"}), ("t = 'q' and k < 10", {"t", "k"}), ("z > 0.4", {"z"}),
              ("y is not null and x > 0.2", {"x", "y"})]


@st.composite
def random_pipelines(draw, tables: Path):
    steps = [f"- {{id: a, type: parquet, config: {{path: {tables}/a.parquet}}}}",
             f"- {{id: b, type: csv, config: {{path: {tables}/b.csv}}}}",
             f"- {{id: c, type: parquet, config: {{path: {tables}/c.parquet}}}}"]
    how = draw(st.sampled_from(["inner", "left", "right", "outer"]))
    three = draw(st.booleans()) and how == "inner"
    deps = "[a, b, c]" if three else "[a, b]"
    steps.append(f"- {{id: j, type: join, depends_on: {deps}, config: {{how: {how}, on: [k]}}}}")
    cols = {"id", "k", "x", "s", "y", "t"} | ({"z"} if three else set())
    last = "j"
    for i in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["filter", "filter", "sort", "select", "agg"]))
        sid = f"s{i}"
        if op == "filter":
            usable = [c for c, used in CONDITIONS if used <= cols]
            if not usable:
                continue
            cond = draw(st.sampled_from(usable))
            steps.append(f"- {{id: {sid}, type: filter, depends_on: [{last}], "
                         f"config: {{condition: \"{cond}\"}}}}")
        elif op == "sort":
            by = draw(st.sampled_from(sorted(cols)))
            lim = draw(st.sampled_from(["", ", limit: 40"]))
            steps.append(f"- {{id: {sid}, type: sort, depends_on: [{last}], "
                         f"config: {{by: [{by}]{lim}}}}}")
        elif op == "select":
            keep = sorted(draw(st.sets(st.sampled_from(sorted(cols)), min_size=1)))
            steps.append(f"- {{id: {sid}, type: select, depends_on: [{last}], "
                         f"config: {{columns: [{', '.join(keep)}]}}}}")
            cols = set(keep)
        else:
            if "k" not in cols:
                continue
            num = sorted(cols & {"x", "y", "z", "id"})
            metrics = (f"{{func: sum, column: {num[0]}}}, " if num else "") + "{func: count}"
            steps.append(f"- {{id: {sid}, type: aggregate, depends_on: [{last}], "
                         f"config: {{group_by: [k], metrics: [{metrics}]}}}}")
            cols = {"k", "count"} | ({f"sum_{num[0]}"} if num else set())
        last = sid
    # a second leaf reading the same step sometimes (fan-out)
    if draw(st.booleans()):
        steps.append(f"- {{id: other, type: sort, depends_on: [{last}], "
                     f"config: {{by: [{sorted(cols)[0]}]}}}}")
    return "name: p\nsteps:\n" + "\n".join("  " + s for s in steps)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_optimized_plans_give_the_same_data(tables, data):
    text = data.draw(random_pipelines(tables))
    leaves_equal(parse_pipeline(text, file="p.yaml", base_dir=tables))
