"""`datasetgen llm ping` and `datasetgen llm estimate FILE`: check the configured LLM
provider chain, and estimate what a pipeline's LLM steps will cost before running it.
`llm_cost_lines(plan)` gives the same estimate as text lines for `explain`."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from datasetgen_assets.cli import _load, console, err, main

TOKENS_PER_COLUMN = 12  # a guess per column value when the data is not read
DEFAULT_ROWS = 1000  # when the optimizer has no row estimate


def _task(node: Any) -> tuple[str, dict[str, Any], int]:
    """(instruction, schema, columns per row) of an LLM step, for the estimate."""
    from datasetgen_assets.steps import fuzzy_join, llm_process, llm_validate, semantic_filter

    cfg = node.config
    if node.type == "llm_process":
        instruction, schema, _ = llm_process.task(cfg)
        return instruction, schema, len(cfg.input_columns or []) or 4
    if node.type == "semantic_filter":
        return cfg.condition, semantic_filter.SCHEMA, len(cfg.input_columns or []) or 4
    if node.type == "llm_validate":
        return cfg.rules or "validate", llm_validate.SCHEMA, len(cfg.input_columns or []) or 4
    return f"same {cfg.entity}?", fuzzy_join.SCHEMA, 2 + len(cfg.context_columns)


def estimate_plan(plan: Any) -> list[dict[str, Any]]:
    """One estimate per LLM step of an optimized plan (cache not consulted: an upper bound
    for reruns)."""
    from datasetgen_assets.steps.registry import REGISTRY
    from datasetgen_resources.llm.resource import LLMResource

    client = None
    out = []
    for node in plan.nodes.values():
        st = REGISTRY[node.type]
        if not st.needs_llm(node.config):
            continue
        client = client or LLMResource().get_client()
        ins = [plan.nodes[i].estimated_rows for i in node.inputs]
        rows = ins[0] if ins and ins[0] is not None else DEFAULT_ROWS
        known = bool(ins and ins[0])
        if st.llm_estimate is not None:  # the step type knows its own requests
            known = node.estimated_rows is not None
            est = st.llm_estimate(node.config, node.estimated_rows or rows, client)
        else:
            if node.type == "fuzzy_join":
                rows *= node.config.candidates  # at most this many ambiguous pairs
            instruction, schema, ncols = _task(node)
            fake = [{"input": "x" * (4 * TOKENS_PER_COLUMN * ncols)}] * rows
            est = client.estimate(fake, instruction, schema, tier=node.config.tier,
                                  model=node.config.model)
        est.update({"step": node.id, "type": node.type,
                    "rows_known": known,
                    "max_cost_usd": getattr(node.config, "max_cost_usd", None)})
        out.append(est)
    return out


def llm_cost_lines(plan: Any) -> list[str]:
    """Text for `datasetgen explain`: estimated LLM requests, tokens and cost per step."""
    lines = []
    for e in estimate_plan(plan):
        price = f"${e['cost_usd']:.4f}" if e["priced"] else "unpriced (not in prices.yaml)"
        rows = f"{e['rows']:,} rows" + ("" if e["rows_known"] else " (assumed)")
        line = (f"  {e['step']} ({e['type']}): {rows}, ~{e['requests']:,} requests,"
                f" ~{e['input_tokens']:,} in / ~{e['output_tokens']:,} out tokens on"
                f" {e['provider']}/{e['model']}: {price}")
        if e["max_cost_usd"] is not None:
            over = e["cost_usd"] > e["max_cost_usd"]
            line += (f" (budget ${e['max_cost_usd']:.2f}" +
                     (": the run would stop there)" if over else ")"))
        lines.append(line)
    if lines:
        total = sum(e["cost_usd"] for e in estimate_plan(plan))
        lines.insert(0, "LLM cost estimate (before cache):")
        lines.append(f"  total: ${total:.4f}")
    return lines


@main.group("llm")
def llm_group() -> None:
    """The LLM resource: check providers, estimate costs."""


@llm_group.command("ping")
@click.option("--tier", default="cheap", show_default=True)
def ping(tier: str) -> None:
    """One tiny structured call through the configured provider chain."""
    from datasetgen_resources.llm.resource import LLMResource

    client = LLMResource(cache_backend="none").get_client()
    chain = ", ".join(p.name for p in client.providers)
    started = time.perf_counter()
    res = client.structured([{"word": "hello"}], "Repeat the word.",
                            {"type": "object", "properties": {"word": {"type": "string"}},
                             "required": ["word"]}, tier=tier, step="ping")
    seconds = time.perf_counter() - started
    u = res.usage
    answer = res.results[0]
    if "_error" in answer:
        err.print(f"✗ chain [{chain}]: {answer['_error']}", markup=False, soft_wrap=True)
        sys.exit(1)
    console.print(f"✓ chain [{chain}]: {u['provider']}/{u['model']} answered {answer} in"
                  f" {seconds:.2f}s ({u['input_tokens']} in / {u['output_tokens']} out tokens,"
                  f" ${u['cost_usd']:.6f})", markup=False, soft_wrap=True)
    if u.get("quality_note"):
        console.print(f"  note: {u['quality_note']}", markup=False, soft_wrap=True)


@llm_group.command("estimate")
@click.argument("file", type=click.Path(dir_okay=False))
def estimate(file: str) -> None:
    """Estimated LLM requests, tokens and cost of FILE's LLM steps (nothing is called)."""
    from datasetgen_assets.pipeline.optimizer import optimize

    lines = llm_cost_lines(optimize(_load(file)))
    console.print("\n".join(lines) if lines else "no LLM steps", markup=False, soft_wrap=True)
