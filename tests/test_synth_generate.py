"""The statistical generator: every type and constraint, distributions within tolerance,
rules on every row, foreign keys and per-parent counts, determinism; the regex generator;
violations/adherence/row JSON schema."""

from __future__ import annotations

import re
import uuid

import jsonschema
import numpy as np
import pandas as pd
import pytest

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.synth.constraints import adherence, row_json_schema, violations
from datasetgen_assets.synth.generate import generate, generate_table
from datasetgen_assets.synth.regexgen import compile_pattern
from datasetgen_assets.synth.schema import load_schema

N = 20_000


def one_table(fields: dict, rows: int = N, seed: int = 1, rules: list | None = None
              ) -> pd.DataFrame:
    schema = load_schema({"fields": fields, **({"rules": rules} if rules else {})})
    return generate(schema, rows, seed)["data"]


def test_numbers_follow_their_distributions_and_bounds():
    df = one_table({
        "u": {"type": "integer", "min": 5, "max": 15},
        "n": {"type": "float", "distribution": {"type": "normal", "mean": 50, "std": 5}},
        "ln": {"type": "float", "distribution": {"type": "lognormal", "mu": 2.0, "sigma": 0.5}},
        "clipped": {"type": "decimal", "min": 0, "max": 10, "precision": 1,
                    "distribution": {"type": "normal", "mean": 9, "std": 3}},
        "seq": {"type": "integer", "sequence": True, "min": 100},
    })
    assert df["u"].dtype == np.int64 and df["u"].between(5, 15).all()
    assert set(df["u"]) == set(range(5, 16))  # uniform covers the range...
    counts = df["u"].value_counts(normalize=True)
    assert (abs(counts - 1 / 11) < 0.015).all()  # ...evenly
    assert abs(df["n"].mean() - 50) < 0.2 and abs(df["n"].std() - 5) < 0.2
    assert abs(np.median(df["ln"]) - np.exp(2.0)) < 0.2  # median of a lognormal = e^mu
    assert abs(np.log(df["ln"]).std() - 0.5) < 0.02
    assert df["clipped"].between(0, 10).all()
    assert (df["clipped"] * 10 == np.round(df["clipped"] * 10)).all()  # one decimal place
    assert df["seq"].tolist() == list(range(100, 100 + N))


def test_weights_booleans_and_null_ratio():
    df = one_table({
        "tier": {"type": "category", "enum": {"gold": 1, "silver": 3, "bronze": 6}},
        "plain": {"type": "category", "enum": ["a", "b"]},
        "cat": {"type": "category", "distribution": {"type": "categorical",
                                                     "weights": {"x": 0.9, "y": 0.1}}},
        "flag": {"type": "boolean", "true_ratio": 0.3},
        "maybe": {"type": "integer", "min": 0, "max": 9, "null_ratio": 0.25},
        "opt": {"type": "email", "null_ratio": 0.1},
    })
    share = df["tier"].value_counts(normalize=True)
    for k, w in {"gold": 0.1, "silver": 0.3, "bronze": 0.6}.items():
        assert abs(share[k] - w) < 0.015, (k, share[k])
    assert abs((df["plain"] == "a").mean() - 0.5) < 0.015
    assert abs((df["cat"] == "x").mean() - 0.9) < 0.01
    assert df["flag"].dtype == bool and abs(df["flag"].mean() - 0.3) < 0.015
    assert abs(df["maybe"].isna().mean() - 0.25) < 0.015 and str(df["maybe"].dtype) == "Int64"
    assert abs(df["opt"].isna().mean() - 0.1) < 0.01


def test_dates_bounds_distribution_and_format():
    df = one_table({
        "d": {"type": "date", "min": "2024-01-01", "max": "2024-01-31"},
        "dt": {"type": "datetime", "min": "2024-03-01", "max": "2024-03-02"},
        "txt": {"type": "date", "min": "2023-01-01", "max": "2023-12-31", "format": "%d/%m/%Y"},
        "peak": {"type": "date", "min": "2024-01-01", "max": "2024-12-31",
                 "distribution": {"type": "normal"}},
    })
    assert df["d"].between("2024-01-01", "2024-01-31").all()
    assert (df["d"].dt.normalize() == df["d"]).all() and df["d"].nunique() == 31
    assert df["dt"].between("2024-03-01", "2024-03-02 23:59:59").all()
    assert df["dt"].dt.second.nunique() > 50  # real times, not midnights
    assert df["txt"].str.fullmatch(r"\d{2}/\d{2}/2023").all()
    middle = df["peak"].between("2024-05-01", "2024-08-31").mean()
    assert middle > 0.6  # normal around mid-year, not uniform (~0.34)


def test_semantic_types_look_real_and_unique_holds():
    df = one_table({
        "id": {"type": "uuid", "unique": True},
        "email": {"type": "email", "unique": True},
        "name": {"type": "name"},
        "phone": {"type": "phone"},
        "addr": {"type": "address"},
        "co": {"type": "company"},
        "site": {"type": "url"},
        "note": {"type": "text", "min_length": 3, "max_length": 6},
        "s": {"type": "string", "min_length": 4, "max_length": 6},
    })
    assert all(uuid.UUID(u).version == 4 and str(uuid.UUID(u)) == u for u in df["id"][:2000])
    assert df["id"].is_unique and df["email"].is_unique
    assert df["email"].str.fullmatch(r"[a-z0-9]+\.[a-z0-9]+\d{0,2}@[a-z0-9.-]+\.[a-z]+").all()
    assert df["name"].str.fullmatch(r"\S+( \S+)+").all() and df["name"].nunique() > 5000
    assert df["phone"].str.fullmatch(r"\([2-9]\d{2}\) [2-9]\d{2}-\d{4}").all()
    assert df["addr"].str.fullmatch(r"\d{1,4} .+, .+, .+ .+").all()
    assert df["co"].nunique() > 500
    assert df["site"].str.fullmatch(r"https://www\.[a-z0-9-]+\.[a-z]+/\w+").all()
    words = df["note"].str.split().str.len()
    assert words.between(3, 6).all() and df["note"].str.endswith(".").all()
    assert df["s"].str.len().between(4, 6).all()
    for col in ("email", "name", "addr"):
        assert df[col].dtype == "str"


@pytest.mark.parametrize("pattern", [
    r"[A-Z]{3}-\d{4,6}", r"(ab|cde)+x?", r"^\+1-[2-9]\d{2}-\d{3}-\d{4}$", r"[^a-z]{2}",
    r"(foo|ba(r|zz)){1,3}", r"é+x", r"\w\s\W", r"a.c", r"(?:x|)y*", r"[a-c]{0,3}z",
])
def test_regex_generation_matches(pattern: str):
    values = compile_pattern(pattern).generate(np.random.default_rng(3), 3000).to_pylist()
    assert all(re.fullmatch(pattern, v) for v in values)
    assert len(set(values)) > 1


def test_regex_capacity_and_tight_unique_patterns():
    assert compile_pattern("[A-C][0-2]").capacity() == 9
    assert compile_pattern("(foo|ba(r|zz)){1,3}").capacity() == 3 + 9 + 27
    df = one_table({"code": {"type": "string", "pattern": "[A-C][0-2]", "unique": True}}, rows=9)
    assert sorted(df["code"]) == sorted(f"{a}{b}" for a in "ABC" for b in "012")


def test_unique_integers_and_dates_in_narrow_ranges():
    df = one_table({"n": {"type": "integer", "min": 1, "max": 1000, "unique": True},
                    "d": {"type": "date", "min": "2024-01-01", "max": "2024-12-31",
                          "unique": True}}, rows=366)
    assert df["n"].is_unique and df["n"].between(1, 1000).all()
    assert df["d"].is_unique and df["d"].nunique() == 366


def test_rules_hold_on_every_row():
    df = one_table({
        "start": {"type": "datetime", "min": "2024-01-01", "max": "2024-06-30"},
        "end": {"type": "datetime"},
        "day0": {"type": "date"}, "day1": {"type": "date"},
        "qty": {"type": "integer", "min": 1, "max": 9},
        "price": {"type": "decimal", "min": 1, "max": 100},
        "total": {"type": "decimal"},
        "tax": {"type": "decimal", "min": 0, "max": 5},
        "gross": {"type": "decimal"},
        "score": {"type": "integer", "min": 300, "max": 850,
                  "distribution": {"type": "normal", "mean": 650, "std": 80}},
        "rate": {"type": "float", "precision": 2, "min": 2, "max": 30},
        "grade": {"type": "category"},
    }, rules=[
        {"after": {"field": "end", "other": "start", "min_gap": "1h", "max_gap": "3d"}},
        {"after": {"field": "day1", "other": "day0", "min_gap": "1d", "max_gap": "10d"}},
        {"product": {"field": "total", "of": ["qty", "price"]}},
        {"sum": {"field": "gross", "of": ["total", "tax"]}},
        {"linear": {"field": "rate", "of": "score", "slope": -0.05, "intercept": 45,
                    "noise": 1.0}},
        {"bins": {"field": "grade", "of": "score", "edges": [580, 670, 740],
                  "labels": ["D", "C", "B", "A"]}},
    ])
    gap = df["end"] - df["start"]
    assert (gap >= pd.Timedelta(hours=1)).all() and (gap <= pd.Timedelta(days=3)).all()
    dgap = (df["day1"] - df["day0"]).dt.days
    assert dgap.between(1, 10).all()
    assert np.allclose(df["total"], (df["qty"] * df["price"]).round(2), atol=0.005)
    assert np.allclose(df["gross"], (df["total"] + df["tax"]).round(2), atol=0.005)
    expected = 45 - 0.05 * df["score"]
    assert df["rate"].between(2, 30).all()
    assert abs((df["rate"] - expected).std() - 1.0) < 0.1  # the noise, not more
    assert np.corrcoef(df["rate"], df["score"])[0, 1] < -0.9
    want = pd.cut(df["score"], [-np.inf, 580, 670, 740, np.inf], right=False,
                  labels=["D", "C", "B", "A"]).astype(str)
    assert (df["grade"] == want).all()
    assert adherence(df, load_schema({"fields": {"x": {"type": "integer"}}}).table())
    rules_schema = load_schema({"fields": {c: {"type": "float"} for c in ["a", "b", "c"]},
                                "rules": [{"sum": {"field": "c", "of": ["a", "b"]}}]})
    frame = generate(rules_schema, 100)["data"]
    assert adherence(frame, rules_schema.table())["overall"] == 100.0


SHOP = {
    "tables": {
        "customers": {"rows": 300, "fields": {
            "id": {"type": "integer", "sequence": True},
            "email": {"type": "email", "unique": True}}},
        "products": {"rows": 40, "fields": {
            "sku": {"type": "string", "pattern": "P[0-9]{4}", "unique": True}}},
        "orders": {"per_parent": {"parent": "customers", "min": 1, "max": 4}, "fields": {
            "order_id": {"type": "uuid", "unique": True},
            "customer_id": {"references": "customers.id"},
            "sku": {"references": "products.sku"},
            "qty": {"type": "integer", "min": 1, "max": 3}}},
        "items": {"per_parent": {"parent": "orders", "min": 0, "max": 6,
                                 "distribution": "poisson", "mean": 2}, "fields": {
            "order_id": {"references": "orders.order_id"},
            "line": {"type": "integer", "min": 1, "max": 99}}},
    },
}


def test_foreign_keys_and_per_parent_counts():
    schema = load_schema(SHOP)
    out = generate(schema, 0, seed=5)
    cust, prod, orders, items = (out[t] for t in ["customers", "products", "orders", "items"])
    assert len(cust) == 300 and len(prod) == 40
    per = orders.groupby("customer_id").size().reindex(cust["id"], fill_value=0)
    assert per.between(1, 4).all() and len(orders) == per.sum()
    assert abs(per.mean() - 2.5) < 0.25
    assert orders["sku"].isin(prod["sku"]).all() and orders["sku"].nunique() > 30
    per_item = items.groupby("order_id").size().reindex(orders["order_id"], fill_value=0)
    assert per_item.between(0, 6).all() and abs(per_item.mean() - 2) < 0.2
    assert (per_item == 0).any()  # poisson: some orders have no items
    for name, frame in out.items():
        adh = adherence(frame, schema.table(name), out)
        assert adh["overall"] == 100.0, (name, adh)
    bad = orders.copy()
    bad.loc[0, "customer_id"] = 99_999
    found = violations(bad, schema.table("orders"), out)
    assert found[0] == ["customer_id: '99999' is not a customers.id value"]


def test_deterministic_and_a_table_alone_matches_the_whole():
    schema = load_schema(SHOP)
    a = generate(schema, 0, seed=7)
    b = generate(schema, 0, seed=7)
    for t in a:
        pd.testing.assert_frame_equal(a[t], b[t])
    alone = generate_table(schema, "items", 0, seed=7)
    pd.testing.assert_frame_equal(alone, a["items"])  # several steps agree on keys
    c = generate(schema, 0, seed=8)
    assert not c["orders"]["order_id"].equals(a["orders"]["order_id"])


def test_child_of_an_empty_parent_is_a_clear_error():
    s = load_schema({"tables": {
        "p": {"rows": 0, "fields": {"id": {"type": "integer", "sequence": True}}},
        "c": {"fields": {"pid": {"references": "p.id"}}}}})
    with pytest.raises(StepInputError, match=r"c\.pid references p\.id but p has no rows"):
        generate(s, 10)


def test_violations_adherence_and_row_json_schema():
    schema = load_schema({"fields": {
        "code": {"type": "string", "pattern": "[A-Z]{2}[0-9]{3}", "unique": True},
        "qty": {"type": "integer", "min": 1, "max": 5},
        "price": {"type": "decimal", "precision": 2, "min": 1, "max": 50},
        "total": {"type": "decimal", "precision": 2},
        "plan": {"type": "category", "enum": {"free": 2, "pro": 1}},
        "signup": {"type": "date", "min": "2024-01-01", "max": "2024-12-31"},
        "email": {"type": "email", "null_ratio": 0.2},
    }, "rules": [{"product": {"field": "total", "of": ["qty", "price"]}}]})
    table = schema.table()
    df = generate(schema, 400, seed=2)["data"]
    assert adherence(df, table)["overall"] == 100.0
    # the JSON schema of one row accepts every generated row
    validator = jsonschema.Draft202012Validator(
        row_json_schema(table), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    import json

    for rec in json.loads(df.to_json(orient="records", date_format="iso"))[:200]:
        rec["signup"] = rec["signup"][:10]
        assert not list(validator.iter_errors(rec)), rec
    rs = row_json_schema(table)
    assert rs["properties"]["qty"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert rs["properties"]["plan"]["enum"] == ["free", "pro"]
    assert rs["properties"]["code"]["pattern"] == "^(?:[A-Z]{2}[0-9]{3})$"
    assert rs["properties"]["email"]["type"] == ["string", "null"]
    assert "total = qty x price" in rs["properties"]["total"]["description"]
    bad = df.head(5).copy()
    bad["code"] = bad["code"].astype(object)
    bad.loc[0, "code"] = "zz1"
    bad.loc[1, "qty"] = 9
    bad.loc[2, "plan"] = "gold"
    bad.loc[3, "code"] = bad.loc[4, "code"]
    bad.loc[4, "price"] = 1.234
    found = violations(bad, table)
    assert "code: 'zz1' does not match [A-Z]{2}[0-9]{3}" in found[0]
    assert "qty: 9 is outside 1..5" in found[1] and any("breaks 'total" in v for v in found[1])
    assert found[2] == ["plan: 'gold' is not one of free, pro"]
    assert any("repeats an earlier row" in v for v in found[4])
    assert any("more than 2 decimal places" in v for v in found[4])
    adh = adherence(bad, table)
    assert adh["violating_rows"] == 4 and adh["overall"] == 20.0  # row 3 holds the first copy
    assert adh["constraints"]["plan.enum"] == 80.0
    missing = violations(df.drop(columns=["plan"]).head(2), table)
    assert missing == [["plan: column missing"], ["plan: column missing"]]


def test_cross_table_after_rule_follows_the_parent_row():
    schema = load_schema({"tables": {
        "c": {"rows": 200, "fields": {
            "id": {"type": "string", "pattern": "C[0-9]{6}", "unique": True},
            "signup": {"type": "date", "min": "2024-01-01", "max": "2024-03-01"}}},
        "o": {"per_parent": {"min": 1, "max": 3}, "fields": {
            "oid": {"type": "uuid", "unique": True},
            "cid": {"references": "c.id"},
            "at": {"type": "datetime"},
            "end": {"type": "datetime"}},
            "rules": [{"after": {"field": "at", "other": "c.signup", "min_gap": "1d",
                                 "max_gap": "30d"}},
                      {"after": {"field": "end", "other": "at", "max_gap": "2d"}}]}}})
    out = generate(schema, 0, seed=3)
    merged = out["o"].merge(out["c"], left_on="cid", right_on="id", how="left")
    gap = merged["at"] - merged["signup"]
    assert gap.between(pd.Timedelta(days=1), pd.Timedelta(days=30)).all()
    assert adherence(out["o"], schema.table("o"), out)["overall"] == 100.0
    pd.testing.assert_frame_equal(generate(schema, 0, seed=3, tables=["o"])["o"], out["o"])
    bad = out["o"].copy()
    bad.loc[0, "at"] = bad.loc[0, "at"] - pd.Timedelta(days=90)
    assert any("breaks 'at is 1d to 30d after c.signup'" in v
               for v in violations(bad, schema.table("o"), out)[0])
    # without the parent rows the cross-table rule is not checked (nothing to compare with)
    assert not any("c.signup" in v for v in violations(bad, schema.table("o"))[0])


@pytest.mark.parametrize("locale", ["de_DE", "ja_JP"])
def test_locales_give_local_values_and_ascii_unique_emails(locale: str):
    schema = load_schema({"locale": locale, "fields": {
        "name": {"type": "name"}, "email": {"type": "email", "unique": True},
        "address": {"type": "address"}}})
    df = generate(schema, 3000)["data"]
    assert df["email"].is_unique and df["email"].str.fullmatch(r"[a-z0-9.]+@[a-z0-9.-]+").all()
    assert adherence(df, schema.table())["overall"] == 100.0
    if locale == "ja_JP":
        assert df["name"].str.contains(r"[\u3040-\u30ff\u4e00-\u9fff]").mean() > 0.9


def test_unknown_locale_is_a_clear_error():
    schema = load_schema({"locale": "xx_YY", "fields": {"n": {"type": "name"}}})
    with pytest.raises(StepInputError, match=r"unknown Faker locale 'xx_YY'.*en_US"):
        generate(schema, 5)


def test_progress_reports_every_field():
    schema = load_schema(SHOP)
    seen: list[tuple[str, str]] = []
    generate(schema, 0, seed=1, tables=["orders"], progress=lambda t, f: seen.append((t, f)))
    assert seen[-4:] == [("orders", "order_id"), ("orders", "customer_id"), ("orders", "sku"),
                         ("orders", "qty")]
    assert ("customers", "id") in seen and ("customers", "email") not in seen  # keys only
