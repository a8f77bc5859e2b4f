"""`custom_python`: call a function DataFrame(s) -> DataFrame named by a dotted path.

Only modules under the prefixes in $DATASETGEN_CUSTOM_PYTHON_MODULES (comma separated;
default `examples,pipelines,user_steps`) may be named, so a pipeline file cannot call
arbitrary library functions such as `os.system`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import Field, field_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import StepConfig, StepContext, StepResult, StepType, register

DEFAULT_ALLOWED = "examples,pipelines,user_steps"


def allowed_prefixes() -> list[str]:
    raw = os.environ.get("DATASETGEN_CUSTOM_PYTHON_MODULES", DEFAULT_ALLOWED)
    return [p.strip() for p in raw.split(",") if p.strip()]


class CustomPythonConfig(StepConfig):
    function: str = Field(description="'package.module:function' or 'package.module.function'.")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra keyword arguments.")

    @field_validator("function")
    @classmethod
    def _allowed(cls, v: str) -> str:
        module, _, name = v.partition(":") if ":" in v else v.rpartition(".")
        if not module or not name:
            raise ValueError(f"'{v}' is not 'module:function'")
        prefixes = allowed_prefixes()
        if not any(module == p or module.startswith(p + ".") for p in prefixes):
            raise ValueError(
                f"module '{module}' is not allowed; allowed prefixes: {', '.join(prefixes)}"
                " (set DATASETGEN_CUSTOM_PYTHON_MODULES to add yours)"
            )
        return v


def load_function(path: str, base_dir: str | None = None) -> Callable[..., Any]:
    """Import the function; the project folder is importable."""
    module, _, name = path.partition(":") if ":" in path else path.rpartition(".")
    if base_dir and base_dir not in sys.path:
        sys.path.insert(0, base_dir)
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise StepInputError(f"cannot load '{path}': {exc}",
                             fix="check the module is importable from the project folder") from None
    if not callable(fn):
        raise StepInputError(f"'{path}' is not a function")
    return fn


def run(inputs: list[pd.DataFrame], config: CustomPythonConfig, ctx: StepContext) -> StepResult:
    fn = load_function(config.function, str(ctx.base_dir))
    out = fn(*[f.copy() for f in inputs], **config.kwargs)
    if not isinstance(out, pd.DataFrame):
        raise StepInputError(
            f"'{config.function}' returned {type(out).__name__}, not a DataFrame",
            fix="return a pandas DataFrame",
        )
    return StepResult(out.reset_index(drop=True),
                      {"function": config.function, "rows_in": [len(f) for f in inputs],
                       "rows_out": len(out)})


register(StepType(
    name="custom_python", kind="transform", config_model=CustomPythonConfig, run=run,
    description="Call your own function DataFrame(s) -> DataFrame.",
    min_inputs=1, max_inputs=None, kinds=("python", "pandas"),
))
