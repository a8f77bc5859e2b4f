"""Issues found by quality checks, their severities and the quality score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low"]
WEIGHTS: dict[str, float] = {"critical": 1.0, "high": 0.7, "medium": 0.4, "low": 0.1}

FAMILIES: tuple[str, ...] = (
    "missing_values", "duplicates", "type_consistency", "outliers", "format_inconsistency",
    "invalid_values", "pii_exposure", "statistical_anomalies", "business_rules",
    "semantic_issues",
)


@dataclass
class Issue:
    """One problem: a family, a check, a severity and how many cells or rows it touches."""

    family: str
    check: str
    severity: Severity
    count: int
    column: str | None = None
    message: str = ""
    examples: list[Any] = field(default_factory=list)  # masked where PII may appear

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "check": self.check, "severity": self.severity,
                "count": int(self.count), "column": self.column, "message": self.message,
                "examples": self.examples}


def total_possible(rows: int, columns: int) -> int:
    """The denominator of the score: every cell could hold one issue (at least 1)."""
    return max(1, rows * max(1, columns))


def quality_score(issues: list[Issue], rows: int, columns: int) -> float:
    """100 * (1 - weighted_sum_of_issues / total_possible_issues), clipped to [0, 100]."""
    weighted = sum(WEIGHTS[i.severity] * i.count for i in issues)
    score = 100.0 * (1.0 - weighted / total_possible(rows, columns))
    return round(min(100.0, max(0.0, score)), 2)
