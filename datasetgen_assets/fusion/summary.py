"""The fusion report as markdown (shown in the Dagster UI as the asset's summary)."""

from __future__ import annotations

from typing import Any


def markdown(report: dict[str, Any]) -> str:
    """Strategy, entities, and one table row per modality: kind, coverage, features, weight."""
    lines = [f"**Fusion ({report['strategy']})** of {len(report['modalities'])} modalities on"
             f" `{report['key']}`: {report['entities']} entities out"
             f" ({report['entities_total']} seen, {report['entities_dropped']} dropped for a"
             " missing modality).", "",
             "| modality | kind | coverage | features | weight |", "|---|---|---|---|---|"]
    for name, m in report["modalities"].items():
        lines.append(f"| {name} | {m['kind']} | {m['coverage']:.1%} | {m['features']} |"
                     f" {m['weight']:.3f} |")
    att = report.get("attention") or {}
    if att.get("scores"):
        lines += ["", f"Weights learned from {att['weights_from']} ({att['task']},"
                  f" temperature {att['temperature']}): cross-validated score per modality "
                  + ", ".join(f"{n} {v:.3f}" for n, v in att["scores"].items())
                  + (f"; fused {att['fused_score']:.3f}" if att.get("fused_score") is not None
                     else "") + "."]
    for lvl in report.get("levels") or []:
        lines.append(f"- level {lvl['level']} group `{lvl['group']}` = "
                     f"{' + '.join(lvl['members'])} -> {lvl['features']} features")
    notes = [f"- {n}: {note}" for n, m in report["modalities"].items() for note in m["notes"]]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)
