"""Errors that name the file, the line, the step and the field, and say how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' Did you mean X?' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


class DatasetGenError(Exception):
    """Base of every error DatasetGen reports to a user."""


class PipelineError(DatasetGenError):
    """One problem in a pipeline file, located as precisely as we know."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        step: str | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.step = step
        self.field = field
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        parts = []
        if self.step:
            parts.append(f"step '{self.step}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        head = (", ".join(parts) + ": ") if parts else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}{head}{self.message}{fix}"

    def located(self, **where: object) -> PipelineError:
        """A copy with missing location parts filled in (never overwrites known ones)."""
        kw = {k: getattr(self, k) for k in ("file", "line", "step", "field", "fix")}
        for key, value in where.items():
            if kw.get(key) is None:
                kw[key] = value
        return PipelineError(self.message, **kw)  # type: ignore[arg-type]


class PipelineValidationError(DatasetGenError):
    """All problems found in one pipeline file, reported together."""

    def __init__(self, errors: list[PipelineError], *,
                 columns: dict[str, list[str] | None] | None = None,
                 order: list[str] | None = None) -> None:
        self.errors = errors
        # what could still be known (for editors): each step's columns where they could be
        # followed past the problems, and the step order (empty with a cycle)
        self.columns = columns or {}
        self.order = order or []
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} found:"
        return "\n".join([head, *(f"  - {e}" for e in self.errors)])


class StepInputError(DatasetGenError):
    """Bad input met while a step runs (file, row, field). Raised before anything is written."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message + (f" Fix: {fix}" if fix else ""))


class UnknownColumnError(DatasetGenError):
    """A step refers to a column its input does not have."""

    def __init__(self, column: str, available: Iterable[str], *, field: str | None = None) -> None:
        self.column = column
        self.available = list(available)
        self.field = field
        shown = ", ".join(self.available[:20]) + (" ..." if len(self.available) > 20 else "")
        super().__init__(
            f"unknown column '{column}'.{did_you_mean(column, self.available)}"
            f" Known columns: {shown}"
        )
