"""Pipeline files: every problem is found before anything runs, located and explained."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from datasetgen_assets.errors import PipelineValidationError
from datasetgen_assets.pipeline.spec import load_pipeline, parse_pipeline

ROOT = Path(__file__).resolve().parent.parent


def problems(text: str, **kw) -> list[str]:
    with pytest.raises(PipelineValidationError) as info:
        parse_pipeline(textwrap.dedent(text), file="p.yaml", base_dir=ROOT, **kw)
    return [str(e) for e in info.value.errors]


def test_shipped_pipelines_are_valid_and_know_their_columns():
    p = load_pipeline(ROOT / "pipelines" / "customer_orders.yaml")
    assert p.name == "customer_orders"
    assert p.order.index("orders") < p.order.index("orders_with_customers")
    assert "shipping.method" in p.columns["orders"]
    assert p.columns["summary"] == ["country", "category", "price_band", "orders", "units",
                                    "customers", "avg_unit_price"] or p.columns["summary"] is None


def test_invalid_yaml_names_line():
    [msg] = problems("name: x\nsteps:\n  - id: a\n    type: csv\n   config: {path: a.csv}\n")
    assert msg.startswith("p.yaml:5:") and "invalid YAML" in msg


def test_unknown_step_type_suggests():
    [msg] = problems("""
        name: p
        steps:
          - id: a
            type: cvs
            config: {path: a.csv}
    """)
    assert "step 'a'" in msg and "field 'type'" in msg and "Did you mean 'csv'" in msg
    assert msg.startswith("p.yaml:5:")


def test_missing_dependency_and_cycle():
    msgs = problems("""
        name: p
        steps:
          - {id: a, type: filter, depends_on: [c], config: {condition: "x > 1"}}
          - {id: b, type: filter, depends_on: [a], config: {condition: "x > 1"}}
          - {id: c, type: filter, depends_on: [b], config: {condition: "x > 1"}}
          - {id: d, type: filter, depends_on: [nope], config: {condition: "x > 1"}}
    """, check_columns=False)
    assert any("unknown step 'nope'" in m and "step 'd'" in m for m in msgs)
    cyc = [m for m in msgs if "dependency cycle" in m]
    assert cyc and all(s in cyc[0] for s in ("a", "b", "c"))


def test_bad_config_value_names_field_and_value():
    [msg] = problems("""
        name: p
        steps:
          - {id: a, type: csv, config: {path: x.csv}}
          - {id: b, type: sort, depends_on: [a], config: {by: [x], limit: -3}}
    """, check_columns=False)
    assert "step 'b'" in msg and "field 'config.limit'" in msg and "-3" in msg
    assert msg.startswith("p.yaml:5:")


def test_unknown_config_key_and_top_level_key():
    msgs = problems("""
        name: p
        schedul: "0 6 * * *"
        steps:
          - {id: a, type: csv, config: {path: x.csv}}
    """)
    assert "unknown key 'schedul'" in msgs[0] and "Did you mean 'schedule'" in msgs[0]
    msgs = problems("""
        name: p
        steps:
          - {id: a, type: csv, config: {pth: x.csv}}
    """)
    assert any("unknown key 'pth'" in m and "config.pth" in m and "Did you mean 'path'" in m
               for m in msgs)
    assert any("field 'config.path'" in m and "is required" in m for m in msgs)


def test_filter_syntax_error_shows_position():
    [msg] = problems("""
        name: p
        steps:
          - {id: a, type: csv, config: {path: x.csv}}
          - {id: b, type: filter, depends_on: [a], config: {condition: "amount >> 5"}}
    """, check_columns=False)
    assert "step 'b'" in msg and "config.condition" in msg and "^" in msg


def test_unknown_column_where_schema_is_known():
    [msg] = problems("""
        name: p
        steps:
          - {id: c, type: csv, config: {path: examples/data/customers.csv}}
          - {id: f, type: filter, depends_on: [c], config: {condition: "contry = 'DE'"}}
    """)
    assert "step 'f'" in msg and "unknown column 'contry'" in msg
    assert "Did you mean 'country'" in msg


def test_unknown_column_propagates_through_join_and_aggregate():
    [msg] = problems("""
        name: p
        steps:
          - {id: c, type: csv, config: {path: examples/data/customers.csv}}
          - {id: pr, type: parquet, config: {path: examples/data/products.parquet}}
          - {id: agg, type: aggregate, depends_on: [c],
             config: {group_by: [country], metrics: [{func: count, as: n}]}}
          - {id: s, type: sort, depends_on: [agg], config: {by: [segment]}}
    """)
    assert "step 's'" in msg and "unknown column 'segment'" in msg


def test_input_arity_and_duplicate_ids_and_bad_cron():
    msgs = problems("""
        name: p
        schedule: "every morning"
        steps:
          - {id: a, type: csv, config: {path: x.csv}}
    """)
    assert "not a cron string" in msgs[0]
    msgs = problems("""
        name: p
        steps:
          - {id: a, type: csv, config: {path: x.csv}}
          - {id: a, type: csv, config: {path: y.csv}}
          - {id: j, type: join, depends_on: [a], config: {on: [k]}}
    """, check_columns=False)
    assert any("duplicate step id" in m for m in msgs)
    assert any("takes at least 2 input" in m and "step 'j'" in m for m in msgs)


def test_duplicate_yaml_keys_are_errors():
    [msg] = problems("name: p\nname: q\nsteps: []\n")
    assert "duplicate key 'name'" in msg and msg.startswith("p.yaml:2:")


def test_custom_python_module_must_be_allowed():
    [msg] = problems("""
        name: p
        steps:
          - {id: a, type: csv, config: {path: x.csv}}
          - {id: b, type: custom_python, depends_on: [a], config: {function: "os:system"}}
    """, check_columns=False)
    assert "module 'os' is not allowed" in msg


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(PipelineValidationError, match="file not found"):
        load_pipeline(tmp_path / "nope.yaml")


def test_a_bad_top_level_still_reports_the_steps_problems():
    """An unnamed new pipeline (the builder's first state) still shows its steps' problems."""
    msgs = problems("""
        name: ''
        schedule: nope
        steps:
          - {id: a, type: join, config: {}}
          - {id: b, type: filter, depends_on: [b], config: {condition: "x > 1"}}
    """)
    assert any("field 'name'" in m for m in msgs) and any("'schedule'" in m for m in msgs)
    assert any("step 'a'" in m and "at least 2 input" in m for m in msgs)
    assert any("step 'b'" in m and "cycle" in m for m in msgs)
    # a broken steps list is reported alone (nothing to check under it)
    broken = problems("name: ''\nsteps: []\n")
    assert len(broken) == 2 and "'name'" in broken[0] and "'steps'" in broken[1]


def test_alias_bombs_are_refused_quickly():
    import time

    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
    started = time.perf_counter()
    msgs = problems(bomb + "name: p\nsteps:\n  - {id: s, type: csv, config: {columns: *a8}}\n")
    assert len(msgs) == 1 and "expands to more than" in msgs[0]
    assert time.perf_counter() - started < 20  # unbounded, 10^9 values: hours


def test_odd_scalars_are_located_errors_or_strings_never_crashes():
    p = parse_pipeline("name: p\nsteps:\n  - {id: s, type: csv, config: {path: x.csv, "
                       "delimiter: =}}\n", file="p.yaml", check_columns=False)
    assert p.configs["s"].delimiter == "="  # not PyYAML's "value" tag
    [msg] = problems("name: p\nsteps:\n  - {id: s, type: csv, config: {path: x.csv, "
                     "columns: [2024-01-01]}}\n")
    assert "p.yaml:3:" in msg and "config.columns.0" in msg


def test_columns_are_followed_past_a_wrong_step(tmp_path):
    """One step's bad config does not hide another's unknown column; the error carries the
    columns that could be followed and the order (the builder's hints)."""
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(PipelineValidationError) as info:
        parse_pipeline(textwrap.dedent("""
            name: p
            steps:
              - {id: raw, type: csv, config: {path: t.csv}}
              - {id: bad, type: filter, depends_on: raw, config: {}}
              - {id: after_bad, type: select, depends_on: bad, config: {columns: [zz]}}
              - {id: picked, type: select, depends_on: raw, config: {columns: [zz]}}
        """), file="p.yaml", base_dir=tmp_path)
    where = {(e.step, e.field) for e in info.value.errors}
    assert ("bad", "config.condition") in where and ("picked", "config.columns") in where
    assert not any(e.step == "after_bad" for e in info.value.errors)  # its input is unknown
    assert info.value.columns == {"raw": ["a", "b"], "bad": None, "after_bad": ["zz"],
                                  "picked": None}
    assert info.value.order.index("raw") < info.value.order.index("picked")
