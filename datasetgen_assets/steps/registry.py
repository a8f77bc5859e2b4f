"""The step registry: every YAML `type:` name maps to one StepType.

A step type is a pydantic config model plus a pure function over pandas DataFrames. It
never imports Dagster. Optional planning hooks let the validator and the optimizer reason
about columns; every hook's default fails closed (unknown columns, no pushdown).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict

from datasetgen_assets.errors import did_you_mean

Kind = Literal["source", "transform", "validation", "sink"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_var_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "must be the NAME of an environment variable (letters, digits, _) that holds the"
            " secret, never the secret itself"
        )
    return value


# A config field naming an environment variable that holds a URL or token (keys never live
# in pipeline files).
EnvVarName = Annotated[str, AfterValidator(_env_var_name)]
Columns = list[str] | None  # None: not known before running


class StepConfig(BaseModel):
    """Base of every step config model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StepContext:
    """What a step function may know about where it runs. No Dagster objects here."""

    pipeline: str = "adhoc"
    step_id: str = "step"
    base_dir: Path = field(default_factory=Path.cwd)
    partition_key: str | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("datasetgen"))
    upload_url: str | None = None  # the uploaded file of this run's partition (upload trigger)
    llm: Any = None  # the LLM client, set for step types with uses_llm=True
    previous: pd.DataFrame | None = None  # this asset's previous materialization, if asked for
    # planning (not running) for a caller who must not read arbitrary files: header reads stay
    # inside this folder and out of its hidden folders (None: no limit)
    read_root: Path | None = None
    refused: list[str] | None = None  # where may_read notes the paths it refused

    def may_read(self, path: str) -> bool:
        """Whether planning hooks may open `path` (see read_root)."""
        if self.read_root is None:
            return True
        root, target = self.read_root.resolve(), Path(path).resolve()
        if target.is_relative_to(root) and not any(
                part.startswith(".") for part in target.relative_to(root).parts):
            return True
        if self.refused is not None:
            self.refused.append(path)
        return False

    def resolve(self, path: str) -> str:
        """Absolute local path, or the URL unchanged (s3://, http://); `{upload}` is the file
        uploaded for this run's partition."""
        if "{upload}" in path:
            if self.upload_url is None:
                from datasetgen_assets.errors import StepInputError

                raise StepInputError(
                    f"'{path}' reads the uploaded file, but this run has no upload partition",
                    fix="let the upload sensor start it, or pick an upload partition to run",
                )
            path = path.replace("{upload}", self.upload_url)
        if "://" in path:
            return path
        p = Path(os.path.expandvars(os.path.expanduser(path)))
        return str(p if p.is_absolute() else (self.base_dir / p))


@dataclass
class CheckOutcome:
    """The result of one asset check a step computed (quality gates)."""

    name: str
    passed: bool
    description: str = ""
    blocking: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    """What a step returns: the output frame and a small JSON-able report."""

    frame: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)


RunFn = Callable[[list[pd.DataFrame], Any, StepContext], StepResult]
# infer_columns(config, input_columns, ctx) -> output columns or None. Raises
# UnknownColumnError when the config names a column a known input lacks.
InferFn = Callable[[Any, list[Columns], StepContext], Columns]
# needed_inputs(config, needed_output, input_columns) -> per input: columns needed (None = all)
NeededFn = Callable[[Any, set[str] | None, list[Columns]], list[set[str] | None]]
# filter_targets(config, condition_columns, input_columns) -> input indexes a filter on those
# output columns can move to with identical results ([] = it cannot move)
TargetsFn = Callable[[Any, frozenset[str], list[Columns]], list[int]]
# estimate_rows(config, input_estimates, ctx) -> estimated output rows or None
EstimateFn = Callable[[Any, list[int | None], StepContext], int | None]
# check_specs(config) -> [(check name, blocking, description)]
ChecksFn = Callable[[Any], list[tuple[str, bool, str]]]


def _unknown(config: Any, inputs: list[Columns], ctx: StepContext) -> Columns:
    return None


def _need_all(config: Any, needed: set[str] | None, inputs: list[Columns]) -> list[set[str] | None]:
    return [None for _ in inputs]


def _no_targets(config: Any, cols: frozenset[str], inputs: list[Columns]) -> list[int]:
    return []


def _no_estimate(config: Any, inputs: list[int | None], ctx: StepContext) -> int | None:
    return None


def _no_checks(config: Any) -> list[tuple[str, bool, str]]:
    return []


@dataclass(frozen=True)
class StepType:
    """One registered step type. See the module docstring."""

    name: str
    kind: Kind
    config_model: type[StepConfig]
    run: RunFn
    description: str
    min_inputs: int = 1
    max_inputs: int | None = 1
    kinds: tuple[str, ...] = ("pandas",)
    infer_columns: InferFn = _unknown
    needed_inputs: NeededFn = _need_all
    filter_targets: TargetsFn = _no_targets
    estimate_rows: EstimateFn = _no_estimate
    check_specs: ChecksFn = _no_checks
    projectable: bool = False  # a source whose config has `columns:` it reads exclusively
    # the factory gives ctx.llm from the `llm` resource: always, or when this says so of a config
    uses_llm: bool | Callable[[Any], bool] = False
    wants_previous: bool = False  # the factory gives ctx.previous: the last stored output
    # a source that can apply a filter condition while reading (e.g. as SQL WHERE)
    push_filter: Callable[[Any, str], Any] | None = None
    label: str = ""  # the visual builder's palette name ("" = a title made from `name`)

    # (config, rows, client) -> the client's estimate dict, for `explain` / `llm estimate`;
    # without it an LLM step is estimated from its instruction and output schema
    llm_estimate: Callable[[Any, int, Any], dict[str, Any]] | None = None

    def needs_llm(self, config: Any) -> bool:
        """Whether a step of this type with `config` calls the LLM resource."""
        return bool(self.uses_llm(config) if callable(self.uses_llm) else self.uses_llm)


REGISTRY: dict[str, StepType] = {}


def register(step_type: StepType) -> StepType:
    """Add a step type; names are unique."""
    if step_type.name in REGISTRY:
        raise ValueError(f"step type '{step_type.name}' is registered twice")
    REGISTRY[step_type.name] = step_type
    return step_type


def get_step_type(name: str) -> StepType:
    """The step type for a YAML `type:` name; KeyError with a suggestion when unknown."""
    load_all()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown step type '{name}'.{did_you_mean(name, REGISTRY)}"
            f" Known types: {', '.join(sorted(REGISTRY))}"
        ) from None


def load_all() -> dict[str, StepType]:
    """Import every step module so each registers itself."""
    import datasetgen_assets.steps  # noqa: F401  (imports the modules)

    return REGISTRY


def passthrough_columns(config: Any, inputs: list[Columns], ctx: StepContext) -> Columns:
    """infer_columns for steps that keep their single input's columns."""
    return list(inputs[0]) if inputs and inputs[0] is not None else None


def check_known(columns: list[str] | set[str] | tuple[str, ...], known: Columns,
                field: str) -> None:
    """Raise UnknownColumnError for the first column not in `known` (when known)."""
    from datasetgen_assets.errors import UnknownColumnError

    if known is None:
        return
    for col in columns:
        if col not in known:
            raise UnknownColumnError(col, known, field=field)
