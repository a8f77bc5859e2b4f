"""Profiling benchmark: `python -m bench.profiling [--rows N]`.

Profiles ROWS x 20 mixed columns (numbers, dates, categories, EU decimals, emails, UUIDs, IPs,
postal codes, ...) with DatasetGen and with ydata-profiling in minimal mode (the anchor) on the
same Parquet file, each in its own process so wall time and peak memory are measured alike.

The anchor is not a dependency (its pins conflict with ours: it needs pandas < 3). Install it
into its own environment inside the venv folder:

    python3.11 -m venv .venv/anchor && .venv/anchor/bin/pip install ydata-profiling pyarrow

or point $DATASETGEN_PROFILING_ANCHOR_PYTHON at any interpreter that has it. Without it the
benchmark reports 'anchor not installed'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = 20
ANCHOR_TIMEOUT_S = 900
ROOT = Path(__file__).resolve().parent.parent

# Run in a child process: load the Parquet file, then time only the profiling call.
_CHILD = r"""
import json, resource, sys, time
import pandas as pd

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

which, path = sys.argv[1], sys.argv[2]
if which == "ours":
    from datasetgen_assets.profiling import profile_frame
else:
    import ydata_profiling
    from ydata_profiling import ProfileReport
df = pd.read_parquet(path)
base = rss_kb()
start = time.perf_counter()
extra = {}
if which == "ours":
    p = profile_frame(df, name="bench")
    extra = {"types": {c.name: c.semantic_type for c in p.columns},
             "sampled_columns": [c.name for c in p.columns if c.sampled],
             "sample_size": p.inference_sample_rows}
else:
    report = ProfileReport(df, minimal=True, progress_bar=False)
    report.get_description()
    extra = {"version": ydata_profiling.__version__}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 1024,
                  "peak_over_loaded_mb": max(0, peak - base) / 1024, **extra}))
"""


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """ROWS x 20 mixed columns, deterministic."""
    r = np.random.default_rng(seed)
    day = pd.Timestamp("2015-01-01") + pd.to_timedelta(r.integers(0, 3000, rows), unit="D")
    cents = r.integers(100, 10**6, rows)
    eu = pd.Series(cents // 100).astype(str) + "," + pd.Series(cents % 100).astype(str).str.zfill(2)
    hexes = pd.Series(r.integers(0, 2**62, rows)).map("{:016x}".format)
    uuid = hexes.str.slice(0, 8) + "-" + hexes.str.slice(8, 12) + "-4" + hexes.str.slice(
        12, 15) + "-a" + hexes.str.slice(0, 3) + "-" + hexes.str.slice(4, 16)
    return pd.DataFrame({
        "id": np.arange(rows),
        "customer_id": r.integers(1, 50_000, rows),
        "amount": r.gamma(2, 50, rows).round(2),
        "quantity": r.integers(1, 20, rows),
        "score": r.normal(0, 1, rows),
        "is_active": r.random(rows) < 0.5,
        "created_at": day,
        "status": r.choice(["paid", "shipped", "refunded", "Paid", "pending"], rows),
        "country": r.choice(["DE", "FR", "US", "GB", "IT", "ES"], rows),
        "email": "user" + pd.Series(r.integers(0, 10**6, rows)).astype(str) + "@example.com",
        "order_date": pd.Series(day.strftime("%d/%m/%Y")),
        "price_eu": eu,
        "flag": r.choice(["yes", "no"], rows),
        "comment": r.choice(["great product", "late delivery", "ok", "", "buy again", "N/A"],
                            rows),
        "uuid": uuid,
        "pct": pd.Series(r.integers(0, 100, rows)).astype(str) + "%",
        "ip": "10." + pd.Series(r.integers(0, 255, rows)).astype(str) + ".0."
              + pd.Series(r.integers(1, 255, rows)).astype(str),
        "zip": pd.Series(r.integers(0, 99_999, rows)).map("{:05d}".format),
        "rating": r.choice([1.0, 2.0, 3.0, 4.0, 5.0, np.nan], rows),
        "city": r.choice(["Berlin", "Paris", "Rome", "Madrid", "London"], rows),
    })  # fmt: skip


def anchor_python() -> str | None:
    """An interpreter that can import ydata_profiling, or None."""
    candidates = [os.environ.get("DATASETGEN_PROFILING_ANCHOR_PYTHON"),
                  str(ROOT / ".venv" / "anchor" / "bin" / "python")]
    for exe in candidates:
        if exe and Path(exe).exists():
            ok = subprocess.run([exe, "-c", "import ydata_profiling, pyarrow"],
                                capture_output=True, check=False, timeout=120)
            if ok.returncode == 0:
                return exe
    return None


def _child(python: str, which: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "YDATA_PROFILING_NO_ANALYTICS": "True"}
    try:
        done = subprocess.run([python, "-c", _CHILD, which, str(path)], capture_output=True,
                              text=True, timeout=ANCHOR_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {ANCHOR_TIMEOUT_S}s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_profiling(rows: int = 1_000_000) -> dict[str, Any]:
    """Both profilers on the same file; a dict of figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.parquet"
        make_frame(rows).to_parquet(path)
        ours = _child(sys.executable, "ours", path)
        exe = anchor_python()
        anchor = _child(exe, "anchor", path) if exe else {"error": "anchor not installed"}
    res: dict[str, Any] = {"rows": rows, "columns": COLUMNS, "ours": ours, "anchor": anchor}
    if "seconds" in ours and "seconds" in anchor:
        res["speedup"] = round(anchor["seconds"] / ours["seconds"], 1)
    return res


def format_profiling(res: dict[str, Any]) -> str:
    """The printed lines."""
    o, a = res["ours"], res["anchor"]
    lines = [f"profiling: {res['rows']:,} rows x {res['columns']} mixed columns"]
    if "error" in o:
        lines.append(f"  datasetgen: FAILED ({o['error']})")
    else:
        lines.append(f"  datasetgen:      {o['seconds']:.2f}s, peak RSS {o['peak_rss_mb']:.0f} MB "
                     f"(+{o['peak_over_loaded_mb']:.0f} MB over the loaded frame)")
        lines.append(f"    sampled: semantic type and pattern of {len(o['sampled_columns'])} "
                     f"high-cardinality columns on {o['sample_size']:,} distinct values each "
                     f"({', '.join(o['sampled_columns'])}); counts, nulls, uniques, min/max/"
                     "mean/std/quantiles, duplicates and keys exact")
    if "error" in a:
        lines.append(f"  ydata-profiling (minimal): {a['error']}")
    else:
        lines.append(f"  ydata-profiling {a.get('version', '')} (minimal): {a['seconds']:.2f}s, "
                     f"peak RSS {a['peak_rss_mb']:.0f} MB (+{a['peak_over_loaded_mb']:.0f} MB)")
    if "speedup" in res:
        lines.append(f"  -> datasetgen {res['speedup']}x faster")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Profiling benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    res = run_profiling(args.rows)
    print(format_profiling(res))
    from bench.common import save_results

    save_results("profiling", res)


if __name__ == "__main__":
    main()
