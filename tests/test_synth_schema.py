"""Synthetic schemas: loading YAML/JSON, the JSON schema of the format, and every bad input
reported with file, line, table.field and a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datasetgen_assets.errors import PipelineValidationError, StepInputError
from datasetgen_assets.synth.generate import generate
from datasetgen_assets.synth.schema import json_schema, load_schema


def _problems(text: str, tmp_path: Path, name: str = "s.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PipelineValidationError) as info:
        load_schema(path)
    return [str(e) for e in info.value.errors]


def one(text: str, tmp_path: Path) -> str:
    found = _problems(text, tmp_path)
    assert len(found) == 1, found
    return found[0]


GOOD = """\
name: shop
tables:
  customers:
    rows: 20
    fields:
      id: {type: integer, sequence: true}
      email: {type: email, unique: true}
  orders:
    per_parent: {min: 1, max: 3}
    fields:
      order_id: {type: string, pattern: "O[0-9]{6}", unique: true}
      customer: {references: customers.id}
      qty: {type: integer, min: 1, max: 4}
      price: {type: decimal, precision: 2, min: 1, max: 9}
      total: {type: decimal, precision: 2}
    rules:
      - product: {field: total, of: [qty, price]}
"""


def test_yaml_and_json_schemas_load_the_same(tmp_path: Path):
    import yaml

    (tmp_path / "s.yaml").write_text(GOOD)
    (tmp_path / "s.json").write_text(json.dumps(yaml.safe_load(GOOD)))
    a, b = load_schema(tmp_path / "s.yaml"), load_schema(tmp_path / "s.json")
    assert a.model_dump() == b.model_dump()
    assert a.order() == ["customers", "orders"]
    assert a.table("orders").parent() == "customers"
    assert a.table("orders").fields["customer"].type == "integer"  # from the referenced key


def test_single_table_schema_and_inline_mapping():
    s = load_schema({"fields": {"a": {"type": "integer", "min": 0, "max": 5}}})
    assert list(s.table().fields) == ["a"]
    assert s.table().name == "data"
    with pytest.raises(KeyError, match="Did you mean 'data'"):
        s.table("dta")


def test_the_format_has_a_json_schema():
    doc = json_schema()
    field = doc["$defs"]["FieldSpec"]["properties"]
    assert {"type", "unique", "pattern", "enum", "precision", "null_ratio", "format",
            "distribution", "references"} <= set(field)
    assert "per_parent" in doc["$defs"]["TableSpec"]["properties"]


@pytest.mark.parametrize("body, where, words", [
    ("a: {type: integer, min: 10, max: 1}", "data.a", ["min 10 is greater than max 1", "swap"]),
    ("a: {type: date, min: 2024-05-01, max: 2024-01-01}", "data.a", ["greater than max"]),
    ("a: {type: date, min: yesterday}", "data.a", ["not an ISO date", "2024-01-31"]),
    ("a: {type: string, min_length: 9, max_length: 2}", "data.a", ["min_length 9"]),
    ("a: {type: string, pattern: '(a)\\1'}", "data.a", ["backreference", "rewrite"]),
    ("a: {type: string, pattern: 'a(?=b)'}", "data.a", ["lookahead", "cannot be generated"]),
    ("a: {type: string, pattern: '\\bword'}", "data.a", ["word boundary"]),
    ("a: {type: string, pattern: '[a-'}", "data.a", ["invalid regex", "Python regex"]),
    ("a: {type: integer, pattern: '[0-9]'}", "data.a", ["pattern on a integer"]),
    ("a: {type: category, enum: {x: -1, y: 2}}", "data.a", ["negative weight", "'x'"]),
    ("a: {type: category, enum: {x: 0, y: 0}}", "data.a", ["weights sum to 0"]),
    ("a: {type: category, enum: []}", "data.a", ["enum is empty"]),
    ("a: {type: category}", "data.a", ["needs its values", "enum:"]),
    ("a: {type: string, precision: 2}", "data.a", ["precision on a string", "float/decimal"]),
    ("a: {type: integer, unique: true, null_ratio: 0.1}", "data.a", ["unique but null_ratio"]),
    ("a: {type: integer, required: true, null_ratio: 0.1}", "data.a",
     ["required but null_ratio"]),
    ("a: {type: string, format: '%Y'}", "data.a", ["format on a string"]),
    ("a: {type: date, format: 'YYYY-MM-DD'}", "data.a", ["no strftime code", "%Y-%m-%d"]),
    ("a: {type: email, distribution: {type: normal}}", "data.a", ["normal distribution on a "
                                                                   "email"]),
    ("a: {type: float, distribution: {type: normal, std: -1}}", "data.a", ["std must be > 0"]),
    ("a: {type: category, enum: [x], distribution: {type: categorical, weights: {x: 1}}}",
     "data.a", ["both `enum` and a categorical"]),
    ("a: {type: text, min: 1}", "data.a", ["min/max on a text", "min_length"]),
    ("a: {type: string, sequence: true}", "data.a", ["sequence on a string"]),
    ("a: {type: integer, min: one}", "data.a", ["min must be a number"]),
    ("a: {}", "data.a", ["has no type"]),
])
def test_contradictions_name_the_field_and_the_fix(tmp_path: Path, body: str, where: str,
                                                   words: list[str]):
    msg = one(f"fields:\n  {body}\n", tmp_path)
    assert f"field '{where}'" in msg and "Fix:" in msg and "s.yaml:2" in msg, msg
    for w in words:
        assert w in msg, msg


def test_unique_enum_with_fewer_values_than_rows(tmp_path: Path):
    msg = one("rows: 10\nfields:\n  plan: {type: category, enum: [a, b, c], unique: true}\n",
              tmp_path)
    assert "field 'data.plan'" in msg and "only 3 distinct values" in msg and "10 rows" in msg
    # without a fixed row count the generator refuses the same way, naming the field
    s = load_schema({"fields": {"plan": {"type": "category", "enum": ["a", "b", "c"],
                                         "unique": True}}})
    with pytest.raises(StepInputError, match=r"data\.plan: unique with 10 rows but only 3"):
        generate(s, 10)
    assert len(generate(s, 3)["data"]) == 3


def test_unique_pattern_and_integer_range_capacity(tmp_path: Path):
    msg = one("rows: 30\nfields:\n  code: {type: string, pattern: '[AB][0-9]', unique: true}\n",
              tmp_path)
    assert "only 20 distinct values" in msg
    s = load_schema({"fields": {"n": {"type": "integer", "min": 1, "max": 5, "unique": True}}})
    with pytest.raises(StepInputError, match=r"data\.n: unique with 6 rows but only 5"):
        generate(s, 6)


def test_unknown_key_type_and_yaml_lines(tmp_path: Path):
    found = _problems("fields:\n  a: {type: integer}\n  b: {type: integr}\n"
                      "  c: {type: integer, uniqe: true}\n", tmp_path)
    assert any("s.yaml:3" in m and "data.b" in m and "'integer'" in m for m in found), found
    assert any("s.yaml:4" in m and "unknown key 'uniqe'" in m and "Did you mean 'unique'" in m
               for m in found), found


def test_reference_problems(tmp_path: Path):
    base = "tables:\n  parent:\n    fields:\n      id: {type: integer}\n  c:\n    fields:\n"
    msg = one(base + "      pid: {references: parnt.id}\n", tmp_path)
    assert "c.pid" in msg and "unknown table 'parnt'" in msg and "Did you mean 'parent'" in msg
    msg = one(base + "      pid: {references: parent.key}\n", tmp_path)
    assert "unknown field 'parent.key'" in msg and "use one of: id" in msg
    msg = one(base + "      pid: {references: parent.id}\n", tmp_path)
    assert "not unique" in msg and "unique: true" in msg
    msg = one(base.replace("{type: integer}", "{type: integer, sequence: true, null_ratio: 0.1}")
              + "      pid: {references: parent.id}\n", tmp_path)
    assert "which has nulls" in msg and "null_ratio: 0 on parent.id" in msg


def test_cycles_in_parents_and_rules(tmp_path: Path):
    msg = one("tables:\n  a:\n    fields:\n      id: {type: integer, unique: true}\n"
              "      b_id: {references: b.id}\n  b:\n    fields:\n"
              "      id: {type: integer, unique: true}\n      a_id: {references: a.id}\n",
              tmp_path)
    assert "cycle" in msg and "a -> b -> a" in msg
    msg = one("fields:\n  x: {type: float}\n  y: {type: float}\n  z: {type: float}\n"
              "rules:\n  - sum: {field: x, of: [y, z]}\n  - sum: {field: y, of: [x, z]}\n",
              tmp_path)
    assert "rules form a cycle" in msg


@pytest.mark.parametrize("rule, words", [
    ("after: {field: end, other: strat, max_gap: 3d}", ["unknown field 'strat'",
                                                        "Did you mean 'start'"]),
    ("after: {field: end, other: start, max_gap: soon}", ["not a duration", "30d"]),
    ("after: {field: end, other: start, min_gap: 5d, max_gap: 1d}", ["min_gap 5d > max_gap"]),
    ("after: {field: end, other: n}", ["two dates or two numbers"]),
    ("product: {field: total, of: [n, label]}", ["'label' is not numeric"]),
    ("bins: {field: label, of: n, edges: [1, 2], labels: [a, b]}", ["2 edges need 3 labels"]),
    ("bins: {field: label, of: n, edges: [5, 2], labels: [a, b, c]}", ["ascending"]),
    ("bins: {field: total, of: n, edges: [1], labels: [a, b]}", ["must be a category"]),
])
def test_rule_problems(tmp_path: Path, rule: str, words: list[str]):
    msg = one("fields:\n  start: {type: date}\n  end: {type: date}\n  n: {type: integer}\n"
              "  total: {type: float}\n  label: {type: category, enum: [a]}\n"
              f"rules:\n  - {rule}\n", tmp_path)
    assert "data.rules" in msg and "Fix:" in msg, msg
    for w in words:
        assert w in msg, msg


def test_per_parent_problems(tmp_path: Path):
    base = ("tables:\n  p:\n    fields:\n      id: {type: integer, sequence: true}\n"
            "  c:\n")
    msg = one(base + "    per_parent: {min: 5, max: 2}\n    fields:\n"
              "      pid: {references: p.id}\n", tmp_path)
    assert "c.per_parent" in msg and "min 5 is greater than max 2" in msg
    msg = one(base + "    per_parent: {min: 1, max: 2}\n    fields:\n"
              "      x: {type: integer}\n", tmp_path)
    assert "no single parent" in msg and "references: parent.key" in msg


def test_invalid_yaml_json_and_missing_file(tmp_path: Path):
    assert "invalid YAML" in one("fields:\n  a: {type: integer\n", tmp_path)
    found = _problems('{"fields": {"a": }}', tmp_path, "s.json")
    assert "invalid JSON" in found[0] and "s.json:1" in found[0]
    with pytest.raises(PipelineValidationError, match="schema file not found"):
        load_schema(tmp_path / "nope.yaml")
    assert "`fields:` (one table) or `tables:`" in one("name: x\n", tmp_path)


def test_every_problem_is_reported_at_once(tmp_path: Path):
    found = _problems("fields:\n  a: {type: integer, min: 3, max: 1}\n"
                      "  b: {type: string, precision: 1}\n  c: {type: category}\n", tmp_path)
    assert len(found) == 3
    assert [m.split("field '")[1].split("'")[0] for m in found] == ["data.a", "data.b", "data.c"]


def test_cross_table_rule_problems(tmp_path: Path):
    base = ("tables:\n  c:\n    fields:\n      id: {type: integer, unique: true}\n"
            "      signup: {type: date}\n      tier: {type: category, enum: [a]}\n"
            "  o:\n    fields:\n      cid: {references: c.id}\n      at: {type: date}\n"
            "    rules:\n")
    msg = one(base + "      - after: {field: at, other: x.signup}\n", tmp_path)
    assert "o.rules" in msg and "in table 'x', which o does not reference" in msg
    msg = one(base + "      - after: {field: at, other: c.nope}\n", tmp_path)
    assert "unknown field 'c.nope'" in msg and "use one of: id, signup, tier" in msg
    msg = one(base + "      - after: {field: at, other: c.tier}\n", tmp_path)
    assert "after 'c.tier' (category) needs two dates or two numbers" in msg
