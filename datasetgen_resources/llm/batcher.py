"""Batching: several rows per request with stable row ids, sized by a token budget and a
maximum batch size; prompts; parsing and alignment of batched answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema

ROWS_MARKER = "ROWS:"


def estimate_tokens(text: str) -> int:
    """Offline estimate (about 4 characters per token for English and JSON)."""
    return len(text) // 4 + 1


def row_json(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)


def system_prompt(instruction: str) -> str:
    return ("You process data rows one by one and answer in JSON only.\n"
            f"Task for every row: {instruction}")


def user_prompt(ids: list[int], rows: list[dict[str, Any]], batched: bool) -> str:
    payload = json.dumps([{"id": i, "row": r} for i, r in zip(ids, rows, strict=True)],
                         ensure_ascii=False, sort_keys=True, default=str)
    if batched:
        head = ('Answer every row below. Return {"results": [...]} with exactly one result'
                ' object per row, each carrying that row\'s "id" unchanged.')
    else:
        head = "Answer for the row below."
    return f"{head}\n{ROWS_MARKER}\n{payload}"


def batch_schema(output_schema: dict[str, Any]) -> dict[str, Any]:
    item = dict(output_schema)
    item["properties"] = {"id": {"type": "integer"}, **output_schema.get("properties", {})}
    item["required"] = ["id", *[r for r in output_schema.get("required", []) if r != "id"]]
    return {"type": "object", "properties": {"results": {"type": "array", "items": item}},
            "required": ["results"]}


def plan_batches(ids: list[int], row_tokens: dict[int, int], max_batch_size: int,
                 token_budget: int, overhead_tokens: int) -> list[list[int]]:
    """Consecutive ids grouped so each request stays under the token budget."""
    batches: list[list[int]] = []
    cur: list[int] = []
    used = overhead_tokens
    for i in ids:
        t = row_tokens[i] + 8
        if cur and (len(cur) >= max_batch_size or used + t > token_budget):
            batches.append(cur)
            cur, used = [], overhead_tokens
        cur.append(i)
        used += t
    if cur:
        batches.append(cur)
    return batches


class AnswerError(ValueError):
    """The answer is not valid JSON for the schema (re-asked once with this message)."""


def parse_json(text: str) -> Any:
    s = text.strip()
    if s.startswith("```"):  # tolerate a code fence
        s = s.strip("`")
        s = s[4:] if s.lower().startswith("json") else s
    try:
        return json.loads(s)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"invalid JSON ({exc.msg} at position {exc.pos})") from None


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(value: Any, v: Any) -> None:
    err = jsonschema.exceptions.best_match(v.iter_errors(value))
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise AnswerError(f"schema violation at {where}: {err.message}")


@dataclass
class Aligned:
    ok: dict[int, dict[str, Any]]  # id -> validated answer (without "id")
    retry: list[int]  # ids to answer one by one
    problem: str = ""


def align(data: Any, ids: list[int], item_validator: Any) -> Aligned:
    """Match a batched answer to its rows by id. Unknown or duplicate ids make the whole
    batch unaligned (every row retried alone); missing or invalid items retry those rows."""
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        return Aligned({}, list(ids), "no results list")
    wanted = set(ids)
    seen: dict[int, dict[str, Any]] = {}
    for item in results:
        rid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(rid, int) or rid not in wanted or rid in seen:
            return Aligned({}, list(ids), f"unexpected or duplicate row id {rid!r}")
        seen[rid] = item
    ok: dict[int, dict[str, Any]] = {}
    retry: list[int] = []
    for rid in ids:
        item = seen.get(rid)
        if item is None:
            retry.append(rid)
            continue
        answer = {k: v for k, v in item.items() if k != "id"}
        try:
            validate(answer, item_validator)
        except AnswerError:
            retry.append(rid)
            continue
        ok[rid] = answer
    problem = f"{len(retry)} rows missing or invalid" if retry else ""
    return Aligned(ok, retry, problem)
