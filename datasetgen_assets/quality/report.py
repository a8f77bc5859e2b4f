"""The quality report as markdown (shown in the Dagster UI) and as a JSON summary."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from datasetgen_assets.quality.issues import FAMILIES, WEIGHTS, Issue


def by_family(issues: list[Issue]) -> dict[str, dict[str, int]]:
    """{family: {severity: count}} with every family present."""
    out: dict[str, dict[str, int]] = {f: {} for f in FAMILIES}
    for i in issues:
        out[i.family][i.severity] = out[i.family].get(i.severity, 0) + int(i.count)
    return out


def markdown(score: float, threshold: float | None, issues: list[Issue], rows: int,
             columns: int, families: list[str]) -> str:
    weighted = sum(WEIGHTS[i.severity] * i.count for i in issues)
    verdict = "" if threshold is None else (" ✅ passes" if score >= threshold else " ❌ below")
    lines = [f"## Quality score: {score:.2f}" + (f" (minimum {threshold:g}){verdict}"
                                                  if threshold is not None else ""),
             "", f"score = 100 * (1 - {weighted:g} / {rows * max(columns, 1)}) "
             f"— weighted issues over {rows} rows x {columns} columns", "",
             "| family | critical | high | medium | low |", "|---|---|---|---|---|"]
    counts = by_family(issues)
    for fam in families:
        c = counts[fam]
        lines.append(f"| {fam} | " + " | ".join(str(c.get(s, 0)) for s in WEIGHTS) + " |")
    top: dict[str, list[Issue]] = defaultdict(list)
    for i in sorted(issues, key=lambda i: -WEIGHTS[i.severity] * i.count):
        top[i.family].append(i)
    if issues:
        lines += ["", "### Issues", "", "| family | check | column | severity | count | detail |",
                  "|---|---|---|---|---|---|"]
        for fam in families:
            for i in top[fam][:10]:
                detail = i.message.replace("|", "\\|")
                lines.append(f"| {fam} | {i.check} | {i.column or ''} | {i.severity} | "
                             f"{i.count} | {detail} |")
    return "\n".join(lines)


def summary(issues: list[Issue]) -> list[dict[str, Any]]:
    return [i.as_dict() for i in issues]
