"""Pipeline files: YAML -> validated PipelineSpec, with every error located.

`load_pipeline(path)` finds every problem before anything runs and reports them together:
YAML syntax, unknown keys, unknown step types, bad config values, missing or cyclic
dependencies, wrong number of inputs and unknown columns where the schema is known.
"""

from __future__ import annotations

import graphlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from datasetgen_assets.errors import (
    DatasetGenError,
    PipelineError,
    PipelineValidationError,
    UnknownColumnError,
    did_you_mean,
)
from datasetgen_assets.steps.registry import (
    REGISTRY,
    Columns,
    StepConfig,
    StepContext,
    get_step_type,
    load_all,
)

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class OptimizeSpec(BaseModel):
    """Optimizer switches; every rule is on by default."""

    model_config = ConfigDict(extra="forbid")
    filter_pushdown: bool = Field(True, description="Move filters below joins and other steps.")
    projection_pushdown: bool = Field(True, description="Read and keep only the columns used.")
    join_reorder: bool = Field(True, description="Join the smallest inputs of inner joins first.")


class UploadTrigger(BaseModel):
    """Run the pipeline once per file uploaded to the landing zone (one dynamic partition
    per upload)."""

    model_config = ConfigDict(extra="forbid")
    prefix: str = Field("", description="Key prefix inside the landing zone, e.g. uploads/orders/.")
    pattern: str = Field("*", description="File-name pattern, e.g. *.csv.")
    max_size_mb: float = Field(200, gt=0, description="Larger uploads are skipped and reported.")
    max_runs_per_tick: int = Field(50, ge=1, le=1000, description="Cap of runs per sensor tick.")
    interval_seconds: int = Field(30, ge=1, description="How often the sensor lists uploads.")
    in_process: bool = Field(
        True, description="Run each upload's steps in one process (no process start per step;"
        " per-file runs are small). Ignored when DATASETGEN_EXECUTOR names another executor.")


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upload: UploadTrigger | None = Field(None, description="Start a run per uploaded file.")


class LLMDefaults(BaseModel):
    """Defaults for the pipeline's LLM steps (a step's own setting wins)."""

    model_config = ConfigDict(extra="forbid")
    tier: Literal["cheap", "standard", "best"] | None = Field(
        None, description="Model tier of LLM steps that name none.")
    model: str | None = Field(None, description="Model of LLM steps that name none.")
    max_cost_usd: float | None = Field(None, gt=0, description="Budget of each LLM step.")


class StepSpec(BaseModel):
    """One step as written in the YAML file."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=NAME_PATTERN, description="Unique step id; becomes the asset name.")
    type: str = Field(description="Step type name, e.g. csv, filter, join, write.")
    description: str | None = Field(None, description="Shown on the asset in the Dagster UI.")
    depends_on: list[str] = Field(default_factory=list, description="Ids of the input steps.")
    config: dict[str, Any] = Field(default_factory=dict, description="The step type's config.")
    ui: dict[str, Any] | None = Field(None, description="Layout for the visual builder.")

    @field_validator("depends_on", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class PipelineSpec(BaseModel):
    """The whole pipeline file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN, description="Asset group and key prefix.")
    description: str = Field("", description="Shown on the pipeline's job and assets.")
    owners: list[str] = Field(default_factory=list, description="Emails or team:names.")
    tags: dict[str, str] = Field(default_factory=dict, description="Dagster tags on the job.")
    schedule: str | None = Field(None, description="Cron string; becomes a Dagster schedule.")
    timezone: str = Field("UTC", description="Time zone of the schedule.")
    optimize: OptimizeSpec | bool = Field(default_factory=OptimizeSpec)
    trigger: TriggerSpec | None = Field(None, description="Sensor-triggered runs.")
    llm: LLMDefaults | None = Field(None, description="Defaults for the LLM steps.")
    steps: list[StepSpec] = Field(min_length=1, description="The steps, in any order.")

    @property
    def upload(self) -> UploadTrigger | None:
        return self.trigger.upload if self.trigger else None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and not croniter.is_valid(v):
            raise ValueError(
                f"'{v}' is not a cron string; use five fields like '0 6 * * *' (06:00 daily)"
            )
        return v

    @property
    def rules(self) -> OptimizeSpec:
        """The optimizer switches (`optimize: false` turns every rule off)."""
        if isinstance(self.optimize, bool):
            on = self.optimize
            return OptimizeSpec(filter_pushdown=on, projection_pushdown=on, join_reorder=on)
        return self.optimize


@dataclass
class Pipeline:
    """A validated pipeline: its spec, typed step configs, order and known columns."""

    spec: PipelineSpec
    file: str
    base_dir: Path
    configs: dict[str, StepConfig]
    order: list[str]  # topological
    columns: dict[str, Columns] = field(default_factory=dict)
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)
    read_root: Path | None = None  # see StepContext.read_root
    refused_reads: list[str] = field(default_factory=list)  # paths read_root kept closed

    @property
    def name(self) -> str:
        return self.spec.name

    def step(self, step_id: str) -> StepSpec:
        return next(s for s in self.spec.steps if s.id == step_id)

    def consumers(self, step_id: str) -> list[str]:
        return [s.id for s in self.spec.steps if step_id in s.depends_on]

    def context(self, step_id: str, partition_key: str | None = None) -> StepContext:
        return StepContext(
            pipeline=self.name, step_id=step_id, base_dir=self.base_dir,
            partition_key=partition_key, read_root=self.read_root, refused=self.refused_reads,
        )


def project_dir_for(path: Path) -> Path:
    """Where relative paths in a pipeline resolve: $DATASETGEN_PROJECT_DIR, else the nearest
    ancestor of the file holding workspace.yaml or pyproject.toml, else the file's folder."""
    env = os.environ.get("DATASETGEN_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    for parent in path.resolve().parents:
        if (parent / "workspace.yaml").exists() or (parent / "pyproject.toml").exists():
            return parent
    return path.resolve().parent


# ----------------------------------------------------------------------------- YAML


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built in


class YamlLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """YAML 1.2 booleans: only true/false. YAML 1.1 would read the key `on:` (join keys) and
    values like `no` or `off` as booleans."""


# no YAML 1.1 bools, and no `=` "value" tag (a lone `=`, e.g. a delimiter, is a string)
_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:value"}
YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
MAX_YAML_NODES = 200_000  # aliases can make a small file expand without bound
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def yaml_with_lines(text: str, file: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse YAML, recording the 1-based line of every key and list item; duplicate keys
    are errors (PyYAML would silently keep the last one)."""
    loader = YamlLoader(text)
    try:
        root = loader.get_single_node()  # parsed once: lines from the nodes, data built from them
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PipelineValidationError([
            PipelineError(
                f"invalid YAML: {problem}"
                + (f" (column {mark.column + 1})" if mark is not None else ""),
                file=file,
                line=mark.line + 1 if mark is not None else None,
                fix="check indentation and quoting around this line",
            )
        ]) from None
    lines: dict[tuple[Any, ...], int] = {}
    errors: list[PipelineError] = []
    visits = [0]

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        visits[0] += 1
        if visits[0] > MAX_YAML_NODES:
            raise PipelineValidationError([PipelineError(
                f"the YAML expands to more than {MAX_YAML_NODES:,} values (through aliases)",
                file=file, line=node.start_mark.line + 1,
                fix="write the values out instead of repeating anchors (&name / *name)")])
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    errors.append(PipelineError(
                        f"duplicate key '{key}'", file=file, line=key_node.start_mark.line + 1,
                        fix="remove one of the two; YAML keeps only the last",
                    ))
                seen.add(key)
                lines[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    if errors:
        raise PipelineValidationError(errors)
    try:
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PipelineValidationError([PipelineError(
            f"invalid YAML value: {getattr(exc, 'problem', None) or exc}", file=file,
            line=mark.line + 1 if mark is not None else None,
            fix="quote the value")]) from None
    finally:
        loader.dispose()
    return data, lines


def _line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _pydantic_errors(
    exc: ValidationError, file: str, lines: dict, prefix: tuple[Any, ...], step: str | None,
    data: dict[str, Any] | None = None,
) -> list[PipelineError]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field_name = ".".join(str(p) for p in (prefix[2:] if step else prefix) + loc) or None
        msg = err["msg"].removeprefix("Value error, ")
        fix = None
        if err["type"] == "extra_forbidden":
            known = list(data.keys()) if data else []
            msg = f"unknown key '{loc[-1]}'"
            fix = "remove it or check its spelling" + did_you_mean(str(loc[-1]), known)
        elif err["type"] == "missing":
            msg = "is required"
            fix = f"add '{loc[-1]}:'"
        elif "input" in err and not isinstance(err["input"], dict | list):
            msg += f" (got {err['input']!r})"
        out.append(PipelineError(
            msg, file=file, line=_line(lines, prefix + loc), step=step, field=field_name, fix=fix
        ))
    return out


def _allowed_keys(model: type[BaseModel]) -> dict[str, None]:
    return dict.fromkeys(model.model_fields)


# ----------------------------------------------------------------------------- loading


def with_llm_defaults(config: StepConfig, defaults: LLMDefaults | None) -> StepConfig:
    """The step config with the pipeline's `llm:` defaults for the LLM fields it leaves unset."""
    if defaults is None:
        return config
    fields = type(config).model_fields
    update = {k: v for k, v in defaults.model_dump(exclude_none=True).items()
              if k in fields and k not in config.model_fields_set}
    return config.model_copy(update=update) if update else config


def without_bad_top_level(data: dict[str, Any], exc: ValidationError) -> PipelineSpec | None:
    """The spec with its invalid top-level keys dropped (a stand-in name when the name is
    wrong), so the steps can still be checked; None when the steps list itself is wrong."""
    bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
    if not bad or "steps" in bad or any(not e["loc"] for e in exc.errors()):
        return None
    kept = {k: v for k, v in data.items() if k not in bad}
    kept.setdefault("name", "pipeline")
    try:
        return PipelineSpec.model_validate(kept)
    except ValidationError:
        return None


def load_pipeline(path: str | Path, *, check_columns: bool = True) -> Pipeline:
    """Load and validate one pipeline file; raises PipelineValidationError with all problems."""
    p = Path(path)
    file = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineValidationError([
            PipelineError("file not found", file=file, fix="check the path")
        ]) from None
    except UnicodeDecodeError as exc:
        raise PipelineValidationError([
            PipelineError(
                f"not UTF-8 text (byte {exc.start})", file=file, fix="save the file as UTF-8"
            )
        ]) from None
    return parse_pipeline(text, file=file, base_dir=project_dir_for(p), check_columns=check_columns)


def parse_pipeline(
    text: str, *, file: str = "<pipeline>", base_dir: Path | None = None,
    check_columns: bool = True, read_root: Path | None = None,
) -> Pipeline:
    """Validate pipeline YAML text (see `load_pipeline`). With `read_root`, the column checks
    read only files inside it, outside its hidden folders (for callers of the API)."""
    load_all()
    data, lines = yaml_with_lines(text, file)
    if not isinstance(data, dict):
        raise PipelineValidationError([
            PipelineError(
                "a pipeline file must be a mapping with 'name' and 'steps'", file=file, line=1,
                fix="start the file with 'name: my_pipeline' and a 'steps:' list",
            )
        ])
    errors: list[PipelineError] = []
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        errors = _pydantic_errors(exc, file, lines, (), None, _allowed_keys(PipelineSpec))
        stand_in = without_bad_top_level(data, exc)
        if stand_in is None:
            raise PipelineValidationError(errors) from None
        spec = stand_in  # go on to report the steps' problems too (the builder shows them)
    configs: dict[str, StepConfig] = {}
    ids = [s.id for s in spec.steps]
    for i, step in enumerate(spec.steps):
        at = ("steps", i)
        if ids.count(step.id) > 1 and ids.index(step.id) != i:
            errors.append(PipelineError(
                "duplicate step id", file=file, line=_line(lines, (*at, "id")), step=step.id,
                field="id", fix="give every step a unique id",
            ))
        try:
            st = get_step_type(step.type)
        except KeyError as exc:
            errors.append(PipelineError(
                exc.args[0], file=file, line=_line(lines, (*at, "type")), step=step.id,
                field="type",
            ))
            continue
        try:
            configs[step.id] = with_llm_defaults(st.config_model.model_validate(step.config),
                                                 spec.llm)
        except ValidationError as exc:
            errors.extend(_pydantic_errors(
                exc, file, lines, (*at, "config"), step.id, _allowed_keys(st.config_model)
            ))
        for dep in step.depends_on:
            if dep not in ids:
                errors.append(PipelineError(
                    f"depends on unknown step '{dep}'.{did_you_mean(dep, ids)}", file=file,
                    line=_line(lines, (*at, "depends_on")), step=step.id, field="depends_on",
                    fix=f"use one of: {', '.join(i for i in ids if i != step.id)}",
                ))
        if "{upload}" in json.dumps(step.config, default=str) and spec.upload is None:
            errors.append(PipelineError(
                "'{upload}' names the uploaded file, but the pipeline has no upload trigger",
                file=file, line=_line(lines, (*at, "config")), step=step.id, field="config",
                fix="add 'trigger: {upload: {prefix: ..., pattern: ...}}' to the pipeline",
            ))
        n = len(step.depends_on)
        if n < st.min_inputs or (st.max_inputs is not None and n > st.max_inputs):
            want = (
                f"exactly {st.min_inputs}" if st.min_inputs == st.max_inputs
                else f"at least {st.min_inputs}" if st.max_inputs is None
                else f"{st.min_inputs} to {st.max_inputs}"
            )
            errors.append(PipelineError(
                f"a '{st.name}' step takes {want} input(s) in depends_on, got {n}", file=file,
                line=_line(lines, (*at, "depends_on")), step=step.id, field="depends_on",
                fix="sources take none; transforms and sinks name their inputs",
            ))

    order: list[str] = []
    graph = {s.id: [d for d in s.depends_on if d in ids] for s in spec.steps}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        errors.append(PipelineError(
            "dependency cycle: " + " -> ".join(cycle), file=file,
            line=_line(lines, ("steps", ids.index(cycle[0]), "depends_on")), step=cycle[0],
            field="depends_on", fix="remove one of these depends_on entries",
        ))
    base = base_dir or Path.cwd()
    pipeline = Pipeline(spec=spec, file=file, base_dir=base, configs=configs, order=order,
                        lines=lines, read_root=read_root)
    if check_columns and order and len(set(ids)) == len(ids):
        # columns are followed past the problems: steps with one of their own get none
        errors.extend(infer_columns(pipeline, skip={e.step for e in errors if e.step}))
    if errors:
        raise PipelineValidationError(
            errors, columns={i: pipeline.columns.get(i) for i in ids}, order=order)
    return pipeline


def infer_columns(pipeline: Pipeline, skip: set[str] | None = None) -> list[PipelineError]:
    """Propagate known column names through the graph; unknown columns become errors. Steps
    in `skip` (already wrong) and steps without a valid config get unknown columns."""
    errors: list[PipelineError] = []
    ids = [s.id for s in pipeline.spec.steps]
    for step_id in pipeline.order:
        step = pipeline.step(step_id)
        if step_id in (skip or ()) or step_id not in pipeline.configs:
            pipeline.columns[step_id] = None
            continue
        st = REGISTRY[step.type]
        inputs = [pipeline.columns.get(d) for d in step.depends_on]
        try:
            pipeline.columns[step_id] = st.infer_columns(
                pipeline.configs[step_id], inputs, pipeline.context(step_id)
            )
        except UnknownColumnError as exc:
            field_path = f"config.{exc.field}" if exc.field else "config"
            key = exc.field.split(".")[0] if exc.field else None
            at = ("steps", ids.index(step_id), "config") + ((key,) if key else ())
            errors.append(PipelineError(
                str(exc), file=pipeline.file, line=_line(pipeline.lines, at), step=step_id,
                field=field_path, fix="use a column the input has, or add a select step",
            ))
            pipeline.columns[step_id] = None
        except DatasetGenError as exc:
            at = ("steps", ids.index(step_id), "config")
            errors.append(PipelineError(
                str(exc), file=pipeline.file, line=_line(pipeline.lines, at), step=step_id,
                field="config",
            ))
            pipeline.columns[step_id] = None
    return errors


def pipeline_dirs() -> list[Path]:
    """Folders whose *.yaml files become pipelines: ./pipelines plus $DATASETGEN_PIPELINES_DIR
    (several separated by the OS path separator)."""
    project = Path(os.environ.get("DATASETGEN_PROJECT_DIR", Path.cwd()))
    dirs = [project / "pipelines"]
    extra = os.environ.get("DATASETGEN_PIPELINES_DIR", "")
    dirs += [Path(d) for d in extra.split(os.pathsep) if d]
    return dirs


def discover_pipelines(dirs: list[Path] | None = None) -> list[Pipeline]:
    """Load every pipeline file in the folders; all errors of all files are raised together."""
    pipelines: list[Pipeline] = []
    errors: list[PipelineError] = []
    for d in dirs if dirs is not None else pipeline_dirs():
        for f in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            try:
                pipelines.append(load_pipeline(f))
            except PipelineValidationError as exc:
                errors.extend(exc.errors)
    names = [p.name for p in pipelines]
    for p in pipelines:
        if names.count(p.name) > 1:
            errors.append(PipelineError(
                f"pipeline name '{p.name}' is used by more than one file", file=p.file,
                field="name", fix="give each pipeline a unique name",
            ))
    if errors:
        raise PipelineValidationError(errors)
    return pipelines
