"""The deployment files: the instance configs validate with Dagster's own schema, and the
docker-compose stack and the Helm values parse and point at things that exist in the repo."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config

from datasetgen_assets.executors import BROKER_ENV, EXECUTOR_ENV, executor_for_env, executor_name
from datasetgen_assets.pipeline.factory import LLM_POOL

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
LOCAL_CONFIG = ROOT / "dagster.yaml"
PROD_CONFIG = DEPLOY / "dagster.postgres.yaml"
COMPOSE = DEPLOY / "docker-compose.yml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
IMAGE_ROOT = "/opt/datasetgen"  # WORKDIR of deploy/Dockerfile
# top-level keys of the official chart's values (helm/dagster/schema: DagsterHelmValues)
CHART_KEYS = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql",
    "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
    "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler", "runLauncher",
    "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount",
    "global", "retention", "concurrency", "additionalInstanceConfig",
}
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|API_KEY|ACCESS_KEY|TOKEN")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _validated(path: Path, tmp_path: Path) -> dict[str, Any]:
    """The instance config after Dagster's schema validation and its own consistency checks."""
    home = tmp_path / uuid.uuid4().hex
    home.mkdir()
    shutil.copyfile(path, home / "dagster.yaml")
    config, _ = dagster_instance_config(str(home))
    return dict(config)


# -- instance configs ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [LOCAL_CONFIG, PROD_CONFIG], ids=["local", "production"])
def test_instance_config_validates_with_reliability_settings(path, tmp_path):
    config = _validated(path, tmp_path)
    assert config["run_retries"] == {"enabled": True, "max_retries": 1,
                                     "retry_on_asset_or_op_failure": False}
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["free_slots_after_run_end_seconds"] > 0
    assert config["concurrency"]["runs"]["max_concurrent_runs"] > 0
    assert config["concurrency"]["pools"]["default_limit"] > 0
    assert config["telemetry"] == {"enabled": False}


def test_the_validation_catches_a_conflicting_run_queue(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(LOCAL_CONFIG.read_text() + "run_queue:\n  max_concurrent_runs: 3\n")
    with pytest.raises(DagsterInvalidConfigError, match="run_queue"):
        _validated(bad, tmp_path)
    bad.write_text(LOCAL_CONFIG.read_text() + "run_retries_typo: {}\n")
    with pytest.raises(DagsterInvalidConfigError):
        _validated(bad, tmp_path)


def test_local_instance_from_the_shipped_config(tmp_path):
    shutil.copyfile(LOCAL_CONFIG, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        assert instance.run_monitoring_enabled
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert concurrency.pool_config.default_pool_limit == 2
        assert instance.event_log_storage.supports_global_concurrency_limits


def test_llm_pool_gets_the_default_limit_when_a_step_uses_it(tmp_path):
    """A step in the pool `llm` claims a slot; the pool is created with default_limit."""
    shutil.copyfile(LOCAL_CONFIG, tmp_path / "dagster.yaml")

    @dg.asset(pool=LLM_POOL)
    def labelled() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert "llm" not in instance.event_log_storage.get_concurrency_keys()
        assert dg.materialize([labelled], instance=instance).success
        info = instance.event_log_storage.get_concurrency_info(LLM_POOL)
        assert info.slot_count == 2 and info.active_slot_count == 0  # released after the run


@pytest.mark.service
def test_production_instance_on_postgres(tmp_path, monkeypatch, postgres_db):
    monkeypatch.setenv("DATASETGEN_POSTGRES_URL", postgres_db)
    shutil.copyfile(PROD_CONFIG, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 4
        # the default limit applies to the `llm` pool of LLM steps
        assert instance.event_log_storage.initialize_concurrency_limit_to_default(LLM_POOL)
        assert instance.event_log_storage.get_concurrency_info(LLM_POOL).slot_count == 4


# -- docker-compose ------------------------------------------------------------------------


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _copied_paths(dockerfile: Path) -> list[str]:
    """Repository paths the Dockerfile copies into the image (relative to the context)."""
    paths = []
    for word, rest in _dockerfile_instructions(dockerfile):
        if word == "COPY":
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            paths += args[:-1]
    return paths


def _argv(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else shlex.split(value or "")


def _referenced_modules(argv: list[str]) -> list[str]:
    flags = {"-m", "--module-name", "-I", "--include", "-A", "--app"}
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in flags]


def _image_files(argv: list[str]) -> list[str]:
    return [a for a in argv if a.startswith(IMAGE_ROOT + "/")]


def _compose() -> dict[str, Any]:
    return _yaml(COMPOSE)


def _datasetgen_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items()
            if svc.get("build", {}).get("dockerfile") == "deploy/Dockerfile"}


def test_compose_has_the_whole_stack():
    services = _compose()["services"]
    assert set(services) == {"postgres", "rabbitmq", "s3", "user_code", "webserver", "daemon",
                             "celery_worker", "api", "prometheus", "grafana"}
    assert set(_datasetgen_services(_compose())) == {"user_code", "webserver", "daemon",
                                                     "celery_worker", "api"}
    # only the API faces users: the UI, Prometheus and Grafana listen on loopback
    for name in ("webserver", "prometheus", "grafana"):
        assert all(str(p).startswith("127.0.0.1:") for p in services[name]["ports"]), name
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
    assert "dagster-webserver" in _argv(services["webserver"]["command"])
    assert _argv(services["daemon"]["command"])[:2] == ["dagster-daemon", "run"]


def test_compose_build_and_dockerfile_reference_existing_files():
    for name, svc in _datasetgen_services(_compose()).items():
        context = (COMPOSE.parent / svc["build"]["context"]).resolve()
        assert context == ROOT, name
        dockerfile = context / svc["build"]["dockerfile"]
        assert dockerfile.is_file(), name
    dockerfile = DEPLOY / "Dockerfile"
    copied = _copied_paths(dockerfile)
    assert {"pyproject.toml", "datasetgen_assets", "pipelines"} <= set(copied)
    for src in copied:
        assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
    instructions = dict(_dockerfile_instructions(dockerfile))
    assert instructions["WORKDIR"] == IMAGE_ROOT
    cmd = yaml.safe_load(instructions["CMD"])
    for module in _referenced_modules(cmd):
        assert importlib.util.find_spec(module), module
    # the build context's ignore file keeps the virtualenv and data out
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".git", "data"} <= set(ignored)


def test_compose_commands_reference_existing_modules_and_files():
    copied = _copied_paths(DEPLOY / "Dockerfile")
    seen_modules = set()
    for name, svc in _datasetgen_services(_compose()).items():
        argv = _argv(svc["command"])
        for module in _referenced_modules(argv):
            assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
            seen_modules.add(module)
        for path in _image_files(argv):
            rel = path[len(IMAGE_ROOT) + 1:]
            assert (ROOT / rel).is_file(), f"{name}: {rel} is not in the repo"
            assert rel in copied or rel.split("/")[0] in copied, f"{name}: {rel} not in image"
    assert {"datasetgen_assets.definitions", "datasetgen_assets.executors"} <= seen_modules


def test_compose_workspace_points_at_the_code_location_service():
    compose = _compose()
    [entry] = _yaml(DEPLOY / "workspace.docker.yaml")["load_from"]
    grpc = entry["grpc_server"]
    assert grpc["host"] in compose["services"]
    argv = _argv(compose["services"][grpc["host"]]["command"])
    assert argv[argv.index("-p") + 1] == str(grpc["port"])
    assert argv[argv.index("--location-name") + 1] == grpc["location_name"]
    for name in ("webserver", "daemon"):
        assert f"{IMAGE_ROOT}/deploy/workspace.docker.yaml" in _argv(
            compose["services"][name]["command"])


def test_compose_environment_selects_celery_and_keeps_secrets_out():
    compose = _compose()
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.M))
    interpolated = set(INTERPOLATION.findall(COMPOSE.read_text()))
    assert interpolated <= documented, f"undocumented: {interpolated - documented}"
    assert not re.search(r"^[A-Z0-9_]*(PASSWORD|SECRET)[A-Z0-9_]*=\S", (DEPLOY / ".env.example")
                         .read_text(), re.M)
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(str(value)), f"{name}.{key} is not ${{...}}"
    env = _datasetgen_services(compose)["celery_worker"]["environment"]
    assert executor_name(env) == "celery"
    assert env["DATASETGEN_POSTGRES_URL"].startswith("postgresql+psycopg2://")
    assert env["DATASETGEN_DATA_URL"].startswith("s3://")
    ex = executor_for_env({EXECUTOR_ENV: env[EXECUTOR_ENV], BROKER_ENV: "pyamqp://u:p@rabbitmq//"})
    assert ex is not None and ex.name == "datasetgen_celery"
    # every DatasetGen service sees the same broker and database (the API adds its own keys)
    envs = [svc["environment"] for svc in _datasetgen_services(compose).values()]
    assert all(e.items() >= env.items() for e in envs)
    # the UI has no login: published on loopback only; the API is the authenticated way in
    assert compose["services"]["webserver"]["ports"] == ["127.0.0.1:3000:3000"]
    assert compose["services"]["api"]["ports"] == ["8000:8000"]
    published = {n for n, svc in compose["services"].items() if "ports" in svc}
    assert published == {"webserver", "api", "prometheus", "grafana"}


# -- Helm ----------------------------------------------------------------------------------


def test_helm_values_use_the_official_chart_keys_and_the_code_location():
    values = _yaml(HELM_VALUES)
    assert set(values) <= CHART_KEYS, set(values) - CHART_KEYS
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert module == "datasetgen_assets.definitions"
    assert importlib.util.find_spec(module) is not None
    assert args[args.index("--working-directory") + 1] == IMAGE_ROOT
    env = {e["name"]: e["value"] for e in deployment["env"]}
    executor_name(env)  # a valid executor
    assert env["DATASETGEN_PROJECT_DIR"] == IMAGE_ROOT
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["postgresql"]["enabled"] is False
    assert values["ingress"]["enabled"] is False


def test_helm_values_hold_no_secret_and_match_the_production_instance(tmp_path):
    values = _yaml(HELM_VALUES)
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlPassword"] == ""
    text = HELM_VALUES.read_text()
    assert not re.search(r"(?i)(password|secret_access_key|api_key)\s*[:=]\s*['\"]?\w{6,}", text)
    prod = _validated(PROD_CONFIG, tmp_path)
    assert values["concurrency"]["enabled"] is True
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == prod["concurrency"]["runs"][
        "max_concurrent_runs"]
    assert values["concurrency"]["pools"]["defaultLimit"] == prod["concurrency"]["pools"][
        "default_limit"]
    retries = values["dagsterDaemon"]["runRetries"]
    assert (retries["enabled"], retries["maxRetries"], retries["retryOnAssetOrOpFailure"]) == (
        True, prod["run_retries"]["max_retries"], False)
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] is True


def test_deploy_readme_names_every_shipped_file():
    readme = (DEPLOY / "README.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        rel = path.relative_to(DEPLOY).as_posix()
        if path.is_file() and rel not in {"README.md", ".gitignore", ".env"}:
            assert rel in readme, f"deploy/README.md does not mention {rel}"


def test_root_readme_explains_deployment_before_benchmarks():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Deployment and scale-out")
    section = readme[start:readme.index("\n## ", start + 1)]
    assert start < readme.index("## Benchmarks")
    for needle in ("make demo", "docker-compose.yml", "helm/values.yaml", "no login",
                   "DATASETGEN_EXECUTOR", "DATASETGEN_CELERY_BROKER_URL"):
        assert needle in section, needle
