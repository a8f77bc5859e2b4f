"""Pipeline files created through the API.

They are written into the first folder of $DATASETGEN_PIPELINES_DIR (else the project's
pipelines/ folder), the folders the code location loads (`discover_pipelines`), after the same
validation as `datasetgen validate`. A pipeline belongs to the workspace named by its
`tags: {workspace: ...}` (pipelines without one belong to "default"); files outside the store
folder (checked into the repository) are read-only here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from datasetgen_assets.errors import PipelineError, PipelineValidationError
from datasetgen_assets.pipeline.spec import (
    Pipeline,
    YamlLoader,
    load_pipeline,
    parse_pipeline,
    pipeline_dirs,
    project_dir_for,
)

WORKSPACE_TAG = "workspace"
DEFAULT_WORKSPACE = "default"


class ReadOnlyPipeline(PermissionError):
    """The pipeline's file is not in the API's store folder."""


def store_dir() -> Path:
    """The folder API-created pipeline files go to."""
    extra = [d for d in os.environ.get("DATASETGEN_PIPELINES_DIR", "").split(os.pathsep) if d]
    return Path(extra[0]) if extra else pipeline_dirs()[0]


def workspace_of(pipeline: Pipeline) -> str:
    return pipeline.spec.tags.get(WORKSPACE_TAG) or DEFAULT_WORKSPACE


def _files() -> list[Path]:
    seen: list[Path] = []
    resolved: set[Path] = set()
    for d in [*pipeline_dirs(), store_dir()]:
        for f in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            if f.resolve() not in resolved:
                resolved.add(f.resolve())
                seen.append(f)
    return seen


def list_pipelines() -> tuple[list[Pipeline], list[PipelineError]]:
    """Every loadable pipeline, and the errors of the files that do not load."""
    found: list[Pipeline] = []
    errors: list[PipelineError] = []
    for f in _files():
        try:
            found.append(load_pipeline(f))
        except PipelineValidationError as exc:
            errors.extend(exc.errors)
    return found, errors


def find(name: str) -> Pipeline | None:
    """The loadable pipeline named `name`; only files whose YAML names it are validated."""
    for f in _files():
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if parse_name(text) != name:
            continue
        try:
            return load_pipeline(f)
        except PipelineValidationError:
            continue
    return None


def is_writable(pipeline: Pipeline) -> bool:
    return Path(pipeline.file).resolve().parent == store_dir().resolve()


def with_workspace(text: str, workspace: str) -> tuple[str, str | None]:
    """`text` with `tags.workspace` set when missing, and the workspace the text names
    (None when it named none). Without a `tags:` key a line is appended (comments and line
    numbers stay); text that is not a YAML mapping is returned unchanged (validation reports
    it)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, None
    if not isinstance(data, dict):
        return text, None
    tags = data.get("tags")
    if isinstance(tags, dict) and tags.get(WORKSPACE_TAG):
        return text, str(tags[WORKSPACE_TAG])
    if "tags" not in data:
        sep = "" if text.endswith("\n") else "\n"
        return f"{text}{sep}tags: {{{WORKSPACE_TAG}: {json.dumps(workspace)}}}\n", None
    if tags is None:
        data["tags"] = {}
    if not isinstance(data["tags"], dict):
        return text, None
    data["tags"][WORKSPACE_TAG] = workspace
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True), None


def validate(text: str, target: Path, replacing: Pipeline | None = None) -> Pipeline:
    """The pipeline of `text` as if saved at `target`; PipelineValidationError with every
    located problem, including a name used by another pipeline file."""
    base = project_dir_for(target)
    pipeline = parse_pipeline(text, file=target.name, base_dir=base, read_root=base)
    if pipeline.refused_reads:
        _check_as_loaded(text, target, base)
    validate_name(pipeline.name, target, replacing)
    return pipeline


def _check_as_loaded(text: str, target: Path, base: Path) -> None:
    """The code location reads every file a source names; the API's checks read only files in
    the project (outside hidden folders), so their messages never show other files' headers.
    What only the full check finds is reported by place, without the message."""
    try:
        parse_pipeline(text, file=target.name, base_dir=base)
    except PipelineValidationError as exc:
        raise PipelineValidationError([PipelineError(
            "a column named here is not in the input, whose columns come from a file outside "
            "the project folder or in a hidden folder (not shown here)", file=e.file,
            line=e.line, step=e.step, field=e.field,
            fix="use the file's real column names, or keep the data inside the project folder")
            for e in exc.errors]) from None


def validate_name(name: str, target: Path, replacing: Pipeline | None = None) -> None:
    """PipelineValidationError when `name` belongs to another pipeline file, or renames
    `replacing`."""
    other = find(name)
    if other is not None and (replacing is None or
                              Path(other.file).resolve() != Path(replacing.file).resolve()):
        raise PipelineValidationError([PipelineError(
            f"pipeline name '{name}' is already used by {Path(other.file).name}",
            file=target.name, field="name", fix="choose another name, or PATCH that pipeline")])
    if replacing is not None and name != replacing.name:
        raise PipelineValidationError([PipelineError(
            f"a pipeline cannot be renamed ('{replacing.name}' -> '{name}')",
            file=target.name, field="name",
            fix=f"keep 'name: {replacing.name}', or create a new pipeline and delete this one")])


def check(text: str, existing: str | None = None, *,
          read_files: bool = True) -> dict[str, Any]:
    """Validate `text` as a save would (as a new pipeline, or as a change of the pipeline
    named `existing`), writing nothing: validity, every located error, the steps' known
    columns and their order (both also when only some steps are wrong). `read_files=False`
    skips the column inference, which reads the header of the files sources name."""
    replacing = find(existing) if existing else None
    if replacing is not None:
        target = Path(replacing.file)
    else:
        target = store_dir() / f"{parse_name(text) or 'pipeline'}.yaml"
    base = project_dir_for(target)
    try:
        pipeline = parse_pipeline(text, file=target.name, base_dir=base,
                                  check_columns=read_files, read_root=base)
    except PipelineValidationError as exc:
        return {"valid": False, "errors": error_dicts(exc), "columns": exc.columns,
                "order": exc.order}
    columns = {s.id: pipeline.columns.get(s.id) for s in pipeline.spec.steps}
    try:
        if pipeline.refused_reads:
            _check_as_loaded(text, target, base)
        validate_name(pipeline.name, target, replacing)
    except PipelineValidationError as exc:
        return {"valid": False, "errors": error_dicts(exc), "columns": columns,
                "order": pipeline.order}
    return {"valid": True, "errors": [], "columns": columns, "order": pipeline.order}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_new(text: str, workspace: str) -> Pipeline:
    """Validate the text as written (errors name its lines), set its workspace tag when
    missing, and write it as <name>.yaml."""
    target = store_dir() / f"{parse_name(text) or 'pipeline'}.yaml"
    validate(text, target)
    text, _ = with_workspace(text, workspace)
    pipeline = validate(text, target)
    target = store_dir() / f"{pipeline.name}.yaml"
    if target.exists():
        raise PipelineValidationError([PipelineError(
            f"file {target.name} already exists in the pipelines folder", file=target.name,
            field="name", fix="choose another name")])
    _write_atomic(target, text)
    return load_pipeline(target)


def replace(pipeline: Pipeline, text: str) -> Pipeline:
    """Validate `text` as written, keep the pipeline's workspace tag when the text names
    none, and write it over the pipeline's file."""
    if not is_writable(pipeline):
        raise ReadOnlyPipeline(pipeline.file)
    target = Path(pipeline.file)
    validate(text, target, replacing=pipeline)
    text, _ = with_workspace(text, workspace_of(pipeline))
    validate(text, target, replacing=pipeline)
    _write_atomic(target, text)
    return load_pipeline(target)


def remove(pipeline: Pipeline) -> None:
    if not is_writable(pipeline):
        raise ReadOnlyPipeline(pipeline.file)
    Path(pipeline.file).unlink(missing_ok=True)


def parse_name(text: str) -> str | None:
    try:
        data: Any = yaml.load(text, Loader=YamlLoader)  # libyaml's parser when built in
    except yaml.YAMLError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name.isidentifier() else None


def error_dicts(exc: PipelineValidationError) -> list[dict[str, Any]]:
    """The validator's located errors as JSON."""
    return [{"message": e.message, "file": e.file, "line": e.line, "step": e.step,
             "field": e.field, "fix": e.fix, "text": str(e)} for e in exc.errors]
