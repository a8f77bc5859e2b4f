"""Which Dagster executor runs the steps of the pipeline jobs, picked from the environment.

- `DATASETGEN_EXECUTOR`: `multiprocess` (default: Dagster's own executor, switchable to
  in-process by run config), `in_process` or `celery`.
- `DATASETGEN_CELERY_BROKER_URL`: the Celery workers' broker, required with `celery`, e.g.
  `pyamqp://user:password@rabbitmq:5672//` or `redis://redis:6379/0`.
- `DATASETGEN_CELERY_BACKEND_URL`: the result backend; default `rpc://` with an AMQP broker,
  the broker URL otherwise.
- `DATASETGEN_CELERY_QUEUE`: the queue steps go to and workers read (default `dagster`).

The executor reads the URLs from the environment when a run starts (Dagster `env` config),
so no credential is stored in a job snapshot or a run's config. The workers take the same
variables: `python -m datasetgen_assets.executors worker [celery worker options]` starts
`celery -A dagster_celery.app worker` on that broker, backend and queue.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

EXECUTOR_ENV = "DATASETGEN_EXECUTOR"
BROKER_ENV = "DATASETGEN_CELERY_BROKER_URL"
BACKEND_ENV = "DATASETGEN_CELERY_BACKEND_URL"
QUEUE_ENV = "DATASETGEN_CELERY_QUEUE"
DEFAULT_QUEUE = "dagster"
EXECUTORS = ("multiprocess", "in_process", "celery")


class ExecutorConfigError(ValueError):
    """The executor variables are missing or wrong; the message names the variable."""


def executor_name(env: Mapping[str, str] | None = None) -> str:
    """The executor chosen by $DATASETGEN_EXECUTOR (case and `-`/`_` do not matter)."""
    env = os.environ if env is None else env
    raw = env.get(EXECUTOR_ENV, "").strip().lower().replace("-", "_")
    name = raw or "multiprocess"
    if name not in EXECUTORS:
        raise ExecutorConfigError(
            f"{EXECUTOR_ENV}={raw!r} is not an executor; use one of: {', '.join(EXECUTORS)}")
    return name


def celery_queue(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get(QUEUE_ENV, "").strip() or DEFAULT_QUEUE


def _require_broker(env: Mapping[str, str]) -> str:
    broker = env.get(BROKER_ENV, "").strip()
    if not broker:
        raise ExecutorConfigError(
            f"{EXECUTOR_ENV}=celery needs {BROKER_ENV}, the broker the Celery workers listen "
            "on (e.g. pyamqp://user:password@rabbitmq:5672//)")
    return broker


def _backend_is_rpc(broker: str) -> bool:
    return broker.split("://", 1)[0] in {"amqp", "amqps", "pyamqp", "librabbitmq"}


def celery_executor_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The config of dagster-celery's executor, with the URLs as `env` references."""
    env = os.environ if env is None else env
    broker = _require_broker(env)
    if env.get(BACKEND_ENV, "").strip():
        backend: Any = {"env": BACKEND_ENV}
    elif _backend_is_rpc(broker):
        backend = "rpc://"
    else:
        backend = {"env": BROKER_ENV}
    return {"broker": {"env": BROKER_ENV}, "backend": backend,
            "config_source": {"task_default_queue": celery_queue(env)}}


def executor_for_env(env: Mapping[str, str] | None = None) -> dg.ExecutorDefinition | None:
    """The executor for every pipeline job, or None for Dagster's default (multiprocess,
    switchable to in-process by run config)."""
    env = os.environ if env is None else env
    name = executor_name(env)
    if name == "in_process":
        return dg.in_process_executor
    if name == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(celery_executor_config(env), name="datasetgen_celery")
    return None


def celery_worker_command(extra_args: Sequence[str] = (),
                          env: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of a Celery worker serving the executor above. The URLs go
    through the environment (CELERY_BROKER_URL, CELERY_RESULT_BACKEND), never the argv."""
    env = dict(os.environ if env is None else env)
    broker = _require_broker(env)
    backend = env.get(BACKEND_ENV, "").strip() or ("rpc://" if _backend_is_rpc(broker) else broker)
    argv = [sys.executable, "-m", "celery", "-A", "dagster_celery.app", "worker",
            "-Q", celery_queue(env), "--prefetch-multiplier=1", *extra_args]
    if not any(a.startswith(("-l", "--loglevel")) for a in extra_args):
        argv.append("--loglevel=INFO")
    return argv, {**env, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": backend}


def main(args: Sequence[str] | None = None) -> int:
    """`python -m datasetgen_assets.executors worker [celery worker options]`."""
    args = list(sys.argv[1:] if args is None else args)
    if not args or args[0] != "worker":
        print("usage: python -m datasetgen_assets.executors worker [celery worker options]",
              file=sys.stderr)
        return 2
    try:
        argv, env = celery_worker_command(args[1:])
    except ExecutorConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.execve(argv[0], argv, env)
    return 0  # not reached: execve replaces this process


if __name__ == "__main__":
    raise SystemExit(main())
