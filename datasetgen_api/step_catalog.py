"""The visual builder's palette: every registered step type with its config's JSON schema.

Pure functions over the step registry, so a newly registered step type appears in the builder
without any front-end change. Groups follow the seed's colours (sources green, transforms blue,
validation orange, outputs purple).
"""

from __future__ import annotations

import os
from typing import Any

from datasetgen_api.dagster_client import DEFAULT_URL
from datasetgen_assets.steps.registry import StepType, load_all

GROUPS: list[dict[str, str]] = [
    {"kind": "source", "label": "Sources", "color": "#2e7d32"},
    {"kind": "transform", "label": "Transforms", "color": "#1565c0"},
    {"kind": "validation", "label": "Validation", "color": "#ef6c00"},
    {"kind": "sink", "label": "Outputs", "color": "#6a1b9a"},
]
KIND_ORDER = {g["kind"]: i for i, g in enumerate(GROUPS)}
# words written in capitals in a label made from a step type's name
ACRONYMS = frozenset({"csv", "json", "sql", "pdf", "llm", "pii", "api", "rest", "url", "xml"})
# environment values shorter than this are too common to be secrets worth scrubbing
MIN_SECRET_LEN = 8


def label_of(step_type: StepType) -> str:
    """The step type's own label, else a title made from its name (`sql_table` -> `SQL table`)."""
    if step_type.label:
        return step_type.label
    words = [w.upper() if w in ACRONYMS else w for w in step_type.name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def uses_llm_of(step_type: StepType) -> bool | str:
    """True/False, or "config" when it depends on the step's config."""
    return "config" if callable(step_type.uses_llm) else bool(step_type.uses_llm)


def _secret_values() -> set[str]:
    return {v for v in os.environ.values() if len(v) >= MIN_SECRET_LEN}


def scrub_env_defaults(schema: Any, secrets: set[str]) -> Any:
    """`schema` without any `default` that equals an environment variable's value (a default
    read from the environment never reaches the browser)."""
    if isinstance(schema, dict):
        return {k: scrub_env_defaults(v, secrets) for k, v in schema.items()
                if not (k == "default" and isinstance(v, str) and v in secrets)}
    if isinstance(schema, list):
        return [scrub_env_defaults(v, secrets) for v in schema]
    return schema


def config_schema(step_type: StepType, secrets: set[str] | None = None) -> dict[str, Any]:
    """The pydantic JSON schema (with `$defs`) of the step type's config model."""
    schema = step_type.config_model.model_json_schema()
    return scrub_env_defaults(schema, _secret_values() if secrets is None else secrets)


def item(step_type: StepType, secrets: set[str] | None = None) -> dict[str, Any]:
    """One palette entry."""
    return {"name": step_type.name, "kind": step_type.kind, "label": label_of(step_type),
            "description": step_type.description, "min_inputs": step_type.min_inputs,
            "max_inputs": step_type.max_inputs, "uses_llm": uses_llm_of(step_type),
            "config_schema": config_schema(step_type, secrets)}


def dagster_ui_url() -> str:
    """Where the Dagster UI is, for the builder's asset links (without any user:password@ of
    the URL the API itself uses)."""
    from urllib.parse import urlsplit, urlunsplit

    url = (os.environ.get("DATASETGEN_DAGSTER_UI_URL") or os.environ.get("DATASETGEN_DAGSTER_URL")
           or DEFAULT_URL)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts).rstrip("/")


def catalog() -> dict[str, Any]:
    """Groups, every registered step type (by kind order, then name) and the Dagster UI URL."""
    registry = load_all()
    secrets = _secret_values()
    ordered = sorted(registry.values(), key=lambda s: (KIND_ORDER.get(s.kind, len(GROUPS)),
                                                       s.name))
    return {"groups": GROUPS, "items": [item(s, secrets) for s in ordered],
            "dagster_ui_url": dagster_ui_url()}
