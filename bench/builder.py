"""The visual builder's real-time validation: POST /api/v1/pipelines/validate on a running
`datasetgen api` (keep-alive HTTP, what the page does after each edit) against the baseline of
`datasetgen validate FILE` as a fresh process (the same validator without a server), for
pipelines of 3, 25 and 100 steps with a real CSV header to infer columns from. Also the built
page's size (raw and gzip)."""

from __future__ import annotations

import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "datasetgen_api" / "static" / "builder"
SECRET = "bench-" + "b" * 42


def pipeline_yaml(steps: int) -> str:
    """A chain: csv source, alternating filter/select/sort transforms, a write sink."""
    lines = ["name: bench_builder", "steps:",
             "  - {id: s0, type: csv, config: {path: data.csv}, ui: {x: 0, y: 0}}"]
    kinds = [("filter", '{condition: "amount > 1"}'), ("select", "{columns: [id, amount, city]}"),
             ("sort", "{by: [amount]}")]
    for i in range(1, steps - 1):
        t, cfg = kinds[i % len(kinds)]
        lines.append(f"  - {{id: s{i}, type: {t}, depends_on: [s{i - 1}], config: {cfg}, "
                     f"ui: {{x: {i * 200}, y: 0}}}}")
    lines.append(f"  - {{id: s{steps - 1}, type: write, depends_on: [s{steps - 2}], "
                 "config: {path: out/bench.csv}}")
    return "\n".join(lines) + "\n"


def _percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50_ms": round(statistics.median(s) * 1000, 2),
            "p95_ms": round(s[min(len(s) - 1, int(len(s) * 0.95))] * 1000, 2)}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_api(project: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATASETGEN_JWT_SECRET": SECRET, "DATASETGEN_PROJECT_DIR": str(project),
           "DATASETGEN_PIPELINES_DIR": str(project / "pipelines"),
           "DATASETGEN_API_DB_URL": f"sqlite:///{project / 'api.db'}"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "datasetgen"), "api", "--port",
                             str(port), "--log-level", "warning"], env=env, cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("datasetgen api did not start")


def bundle_size() -> dict[str, int] | None:
    if not (BUNDLE / "index.html").exists():
        return None
    files = [p for p in BUNDLE.rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "gzip_bytes": sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)}


def run(sizes: tuple[int, ...] = (3, 25, 100), requests: int = 40, cli_runs: int = 5) -> dict:
    from datasetgen_api.security import issue_token

    out: dict[str, Any] = {"sizes": {}, "bundle": bundle_size()}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "pipelines").mkdir()
        (project / "pyproject.toml").write_text("")
        rows = "\n".join(f"{i},{i * 1.5},city{i % 7}" for i in range(1000))
        (project / "data.csv").write_text("id,amount,city\n" + rows + "\n")
        port = _free_port()
        proc = _start_api(project, port)
        try:
            os.environ["DATASETGEN_JWT_SECRET"] = SECRET
            token = issue_token("bench", ("data_scientist",), "default", 900)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as client:
                for n in sizes:
                    text = pipeline_yaml(n)
                    body = {"yaml": text}
                    first = client.post("/api/v1/pipelines/validate", json=body).json()
                    if not first.get("valid") or not first["columns"].get(f"s{n - 2}"):
                        raise RuntimeError(f"bench pipeline of {n} steps did not validate: "
                                           f"{first.get('errors')}")
                    samples = []
                    for _ in range(requests):
                        t = time.perf_counter()
                        client.post("/api/v1/pipelines/validate", json=body).raise_for_status()
                        samples.append(time.perf_counter() - t)
                    path = project / f"p{n}.yaml"
                    path.write_text(text)
                    cli = []
                    for _ in range(cli_runs):
                        t = time.perf_counter()
                        subprocess.run([str(Path(sys.executable).parent / "datasetgen"),
                                        "validate", str(path)], check=True, cwd=project,
                                       capture_output=True)
                        cli.append(time.perf_counter() - t)
                    api, base = _percentiles(samples), _percentiles(cli)
                    out["sizes"][n] = {"api": api, "cli": base,
                                       "ratio": round(base["p50_ms"] / api["p50_ms"], 1)}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


def report(res: dict) -> str:
    lines = ["real-time validation: POST /api/v1/pipelines/validate (running API, keep-alive) "
             "vs baseline `datasetgen validate FILE` (new process each time)",
             "  steps   api p50    api p95    cli p50    cli p95   faster"]
    for n, r in res["sizes"].items():
        lines.append(f"  {n:>5} {r['api']['p50_ms']:>7.1f}ms {r['api']['p95_ms']:>8.1f}ms "
                     f"{r['cli']['p50_ms']:>8.0f}ms {r['cli']['p95_ms']:>8.0f}ms "
                     f"{r['ratio']:>7.1f}x")
    worst = max(r["api"]["p95_ms"] for r in res["sizes"].values())
    lines.append(f"  slowest p95 {worst:.1f} ms (the page debounces edits by 300 ms: target "
                 f"< 100 ms {'met' if worst < 100 else 'NOT met'})")
    b = res["bundle"]
    lines.append(f"builder page: {b['files']} files, {b['bytes'] / 1024:.0f} KiB, "
                 f"{b['gzip_bytes'] / 1024:.0f} KiB gzipped" if b else
                 "builder page: not built (make setup builds it)")
    return "\n".join(lines)
