"""Shipped schema templates (one YAML file each): list, locate, load."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from datasetgen_assets.errors import StepInputError, did_you_mean
from datasetgen_assets.synth.schema import Schema, load_schema, parse_text

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class TemplateInfo:
    """One template: its name, industry, description and tables."""

    name: str
    industry: str
    description: str
    tables: tuple[str, ...]
    path: Path


@lru_cache(maxsize=1)
def list_templates() -> list[TemplateInfo]:
    """Every shipped template, by industry then name."""
    out = []
    for path in sorted(FOLDER.glob("*.yaml")):
        data, _ = parse_text(path.read_text(encoding="utf-8"), str(path))
        tables = tuple(data.get("tables") or {}) or (path.stem,)
        out.append(TemplateInfo(path.stem, str(data.get("industry", "")),
                                str(data.get("description", "")), tables, path))
    return sorted(out, key=lambda t: (t.industry, t.name))


def template_path(name: str) -> Path:
    """The YAML file of template `name`; StepInputError with a suggestion when unknown."""
    names = [t.name for t in list_templates()]
    if name not in names:
        raise StepInputError(f"unknown template '{name}'.{did_you_mean(name, names)}",
                             fix="choose one of: " + ", ".join(names)
                             + " (datasetgen templates lists them)")
    return FOLDER / f"{name}.yaml"


def load_template(name: str) -> Schema:
    """The validated Schema of template `name`."""
    return load_schema(template_path(name))
