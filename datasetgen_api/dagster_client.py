"""Talking to Dagster through the webserver's GraphQL API ($DATASETGEN_DAGSTER_URL).

Runs are launched, watched and stopped through the webserver, so they go through the run queue
and the daemon and show in the UI; the API process never executes a pipeline itself.
`DagsterClient` is the real client; routes get it from `get_dagster` (tests override it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

DEFAULT_URL = "http://127.0.0.1:3000"
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
# emails, phone/card-like digit runs and SSNs: masked in log messages the API returns
_PII = re.compile(r"[^@\s'\"]+@[^@\s'\"]+\.[A-Za-z]{2,}|\b\d{3}-\d{2}-\d{4}\b|\+?\d[\d ().-]{7,}\d")


def _mask(m: re.Match[str]) -> str:
    value = m.group(0)
    if re.match(r"\d{4}-\d{2}-\d{2}", value):  # a date-time, not a phone number
        return value
    if "@" in value or ("-" in value and len(value) == 11):
        return "[masked]"
    return "[masked]" if sum(c.isdigit() for c in value) >= 9 else value


def mask_pii(text: str | None) -> str | None:
    """`text` with PII-looking values (emails, phone and card numbers, SSNs) masked."""
    return _PII.sub(_mask, text) if text else text


class DagsterUnavailable(RuntimeError):
    """The webserver did not answer, or answered with an error."""


class RunNotFound(LookupError):
    """No run with that id."""


class TerminateRefused(RuntimeError):
    """Dagster could not terminate the run (e.g. its worker is still starting)."""


@dataclass
class StepState:
    key: str
    status: str  # NOT_STARTED / IN_PROGRESS / SUCCESS / FAILURE / SKIPPED


@dataclass
class RunInfo:
    """A run as the API shows it."""

    run_id: str
    job_name: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    start_time: float | None = None
    end_time: float | None = None
    update_time: float | None = None
    steps: list[StepState] = field(default_factory=list)

    @property
    def pipeline(self) -> str | None:
        return self.tags.get("datasetgen/pipeline")

    @property
    def done(self) -> int:
        return sum(s.status in ("SUCCESS", "FAILURE", "SKIPPED") for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "job": self.job_name, "pipeline": self.pipeline,
                "status": self.status, "start_time": self.start_time,
                "end_time": self.end_time, "done": self.done, "total": len(self.steps),
                "steps": [{"key": s.key, "status": s.status} for s in self.steps]}


class Dagster(Protocol):
    """What the routes need from Dagster (the real client and the tests' fake)."""

    def launch(self, job_name: str, tags: dict[str, str]) -> str: ...
    def run(self, run_id: str) -> RunInfo: ...
    def runs(self, *, pipeline: str | None = None, updated_after: float | None = None,
             limit: int = 50) -> list[RunInfo]: ...
    def terminate(self, run_id: str) -> str: ...
    def logs(self, run_id: str, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]],
                                                                         str | None, bool]: ...
    def reload(self) -> None: ...
    def location_errors(self) -> list[str]: ...
    def step_errors(self, run_id: str) -> dict[str, str]: ...


def step_id_of(step_key: str, pipeline: str | None) -> str | None:
    """The pipeline's step id of a Dagster step key: an asset keyed `[pipeline, step_id]` runs
    as the op (and step key) `<pipeline>__<step_id>`; None for other steps."""
    prefix = f"{pipeline}__"
    if pipeline and step_key.startswith(prefix) and step_key[len(prefix):].isidentifier():
        return step_key[len(prefix):]
    return None


MAX_ERROR_CHARS = 2000
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(?:Failure): ")


_MODULE_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*: )")
_STEP_WRAPPER = "DagsterExecutionStepExecutionError"


def failure_message(description: str | None, error: str | None,
                    cause: str | None = None) -> str:
    """What a failed step reports: the Failure's description (datasetgen's own message), else
    the exception text (the user code's exception when Dagster wrapped it, without its module
    path); PII-looking values masked, at most MAX_ERROR_CHARS characters."""
    if not description and cause and _STEP_WRAPPER in (error or "").split(":", 1)[0]:
        error = _MODULE_PATH.sub("", cause.strip())
    text = (description or _EXCEPTION_PREFIX.sub("", (error or "").strip())
            or "the step failed")
    return (mask_pii(text) or "")[:MAX_ERROR_CHARS]


_RUN_FIELDS = """runId jobName status startTime endTime updateTime
  tags { key value }
  stepStats { stepKey status }
  executionPlan { steps { key } }"""


def _run_info(node: dict[str, Any]) -> RunInfo:
    stats = {s["stepKey"]: s["status"] or "NOT_STARTED" for s in node.get("stepStats") or []}
    plan = [s["key"] for s in ((node.get("executionPlan") or {}).get("steps") or [])]
    keys = plan + [k for k in stats if k not in plan]
    return RunInfo(
        run_id=node["runId"], job_name=node["jobName"], status=node["status"],
        tags={t["key"]: t["value"] for t in node.get("tags") or []},
        start_time=node.get("startTime"), end_time=node.get("endTime"),
        update_time=node.get("updateTime"),
        steps=[StepState(k, stats.get(k, "NOT_STARTED")) for k in keys])


class DagsterClient:
    """GraphQL client of one Dagster webserver."""

    def __init__(self, url: str | None = None, timeout: float = 15.0,
                 reload_timeout: float = 180.0) -> None:
        self.url = (url or os.environ.get("DATASETGEN_DAGSTER_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.reload_timeout = reload_timeout  # a reload imports the whole code location

    def query(self, text: str, variables: dict[str, Any] | None = None,
              timeout: float | None = None) -> dict[str, Any]:
        """`data` of a GraphQL request; DagsterUnavailable on transport or GraphQL errors."""
        try:
            r = httpx.post(f"{self.url}/graphql", json={"query": text,
                                                        "variables": variables or {}},
                           timeout=timeout or self.timeout)
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DagsterUnavailable(
                f"Dagster webserver at {self.url} did not answer ({exc}); start it with "
                "`dagster-webserver -w workspace.yaml` or set DATASETGEN_DAGSTER_URL") from None
        if body.get("errors"):
            raise DagsterUnavailable("GraphQL error: " + "; ".join(
                str(e.get("message")) for e in body["errors"]))
        return body["data"]

    def _selector(self, job_name: str) -> dict[str, str]:
        data = self.query("""{ repositoriesOrError { __typename
          ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
          ... on PythonError { message } } }""")
        repos = data["repositoriesOrError"]
        for node in repos.get("nodes") or []:
            if any(j["name"] == job_name for j in node["jobs"]):
                return {"repositoryLocationName": node["location"]["name"],
                        "repositoryName": node["name"], "jobName": job_name}
        raise RunNotFound(f"job '{job_name}' is not in any loaded code location")

    def launch(self, job_name: str, tags: dict[str, str]) -> str:
        data = self.query(
            """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
              ... on LaunchRunSuccess { run { runId } }
              ... on PythonError { message }
              ... on RunConfigValidationInvalid { errors { message } }
              ... on Error { message } } }""",
            {"p": {"selector": self._selector(job_name), "runConfigData": {},
                   "executionMetadata": {"tags": [{"key": k, "value": v}
                                                  for k, v in tags.items()]}}})
        result = data["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            detail = result.get("message") or "; ".join(
                e["message"] for e in result.get("errors") or [])
            raise DagsterUnavailable(f"launch of {job_name} refused: "
                                     f"{result['__typename']}: {detail}")
        return result["run"]["runId"]

    def run(self, run_id: str) -> RunInfo:
        data = self.query(f"""query($id: ID!) {{ runOrError(runId: $id) {{ __typename
          ... on Run {{ {_RUN_FIELDS} }} }} }}""", {"id": run_id})
        node = data["runOrError"]
        if node["__typename"] != "Run":
            raise RunNotFound(f"no run '{run_id}'")
        return _run_info(node)

    def runs(self, *, pipeline: str | None = None, updated_after: float | None = None,
             limit: int = 50) -> list[RunInfo]:
        flt: dict[str, Any] = {"tags": [{"key": "datasetgen/pipeline", "value": pipeline}]
                               if pipeline else []}
        if updated_after is not None:
            flt["updatedAfter"] = updated_after
        data = self.query(f"""query($f: RunsFilter, $n: Int) {{
          runsOrError(filter: $f, limit: $n) {{ __typename
            ... on Runs {{ results {{ {_RUN_FIELDS} }} }} ... on PythonError {{ message }} }} }}""",
                          {"f": flt, "n": limit})
        res = data["runsOrError"]
        if res["__typename"] != "Runs":
            raise DagsterUnavailable(f"runs query failed: {res.get('message')}")
        return [_run_info(n) for n in res["results"]]

    def terminate(self, run_id: str) -> str:
        data = self.query("""mutation($id: String!) { terminateRun(runId: $id) { __typename
          ... on TerminateRunSuccess { run { status } }
          ... on TerminateRunFailure { message run { status } }
          ... on RunNotFoundError { message } ... on PythonError { message }
          ... on UnauthorizedError { message } } }""", {"id": run_id})
        res = data["terminateRun"]
        if res["__typename"] == "RunNotFoundError":
            raise RunNotFound(f"no run '{run_id}'")
        if res["__typename"] == "TerminateRunSuccess":
            return self.run(run_id).status  # the payload's run is the state before
        if res["__typename"] == "TerminateRunFailure":
            raise TerminateRefused(f"Dagster could not terminate run '{run_id}': "
                                   f"{res.get('message')}; try again in a few seconds")
        raise DagsterUnavailable(f"terminate refused: {res.get('message')}")

    def _log_page(self, run_id: str, cursor: str | None, limit: int,
                  fields: str) -> dict[str, Any]:
        """One page of the run's event log (`fields`: the event fragments wanted)."""
        data = self.query("""query($id: ID!, $c: String, $n: Int) {
          logsForRun(runId: $id, afterCursor: $c, limit: $n) { __typename
            ... on EventConnection { cursor hasMore events { __typename """ + fields + """ } }
            ... on RunNotFoundError { message } ... on PythonError { message } } }""",
                          {"id": run_id, "c": cursor, "n": limit})
        res = data["logsForRun"]
        if res["__typename"] == "RunNotFoundError":
            raise RunNotFound(f"no run '{run_id}'")
        if res["__typename"] != "EventConnection":
            raise DagsterUnavailable(f"logs query failed: {res.get('message')}")
        return res

    def logs(self, run_id: str, cursor: str | None,
             limit: int) -> tuple[list[dict[str, Any]], str | None, bool]:
        res = self._log_page(run_id, cursor, limit,
                             "... on MessageEvent { message timestamp level stepKey eventType }")
        events = [{"timestamp": float(e["timestamp"]) / 1000 if e.get("timestamp") else None,
                   "level": e.get("level"), "step": e.get("stepKey"),
                   "event": e.get("eventType") or e["__typename"],
                   "message": mask_pii(e.get("message"))}
                  for e in res["events"]]
        return events, res["cursor"], bool(res["hasMore"])

    def step_errors(self, run_id: str, page: int = 1000,
                    max_pages: int = 20) -> dict[str, str]:
        """The failure message of each failed step of the run (the last STEP_FAILURE event of
        each step key), from the run's event log."""
        out: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(max_pages):
            res = self._log_page(run_id, cursor, page, """... on ExecutionStepFailureEvent {
              stepKey error { message cause { message } } failureMetadata { description } }""")
            for e in res["events"]:
                if e["__typename"] == "ExecutionStepFailureEvent" and e.get("stepKey"):
                    out[e["stepKey"]] = failure_message(
                        (e.get("failureMetadata") or {}).get("description"),
                        (e.get("error") or {}).get("message"),
                        ((e.get("error") or {}).get("cause") or {}).get("message"))
            cursor = res["cursor"]
            if not res["hasMore"]:
                break
        return out

    def _locations(self) -> list[dict[str, Any]]:
        data = self.query("""{ workspaceOrError { __typename
          ... on Workspace { locationEntries { name loadStatus
            locationOrLoadError { __typename ... on PythonError { message } } } }
          ... on PythonError { message } } }""")
        ws = data["workspaceOrError"]
        if ws["__typename"] != "Workspace":
            raise DagsterUnavailable(f"workspace query failed: {ws.get('message')}")
        return ws["locationEntries"]

    def reload(self) -> None:
        """Reload every code location, so new or changed pipeline files become jobs."""
        for loc in self._locations():
            self.query("""mutation($n: String!) { reloadRepositoryLocation(
              repositoryLocationName: $n) { __typename } }""", {"n": loc["name"]},
                       timeout=self.reload_timeout)

    def location_errors(self) -> list[str]:
        """Load errors of the code locations (empty when all loaded)."""
        errors = []
        for loc in self._locations():
            inner = loc.get("locationOrLoadError") or {}
            if inner.get("__typename") == "PythonError":
                errors.append(f"{loc['name']}: {inner.get('message', '').strip()[:500]}")
            elif loc.get("loadStatus") != "LOADED":
                errors.append(f"{loc['name']}: {loc.get('loadStatus')}")
        return errors


def get_dagster() -> Dagster:
    """Route dependency: the client of $DATASETGEN_DAGSTER_URL."""
    return DagsterClient()
