"""Augmentation benchmark: `python -m bench.synth_augment [--model cart|copula]`.

On tables shipped in PyPI packages (palmerpenguins; vega_datasets' local cars and
seattle-weather; scikit-learn's iris and wine), in one run: DatasetGen's augmentation against
SDV's GaussianCopulaSynthesizer, each generating as many rows as the table has. Printed per
table: fit+sample seconds of both, SDMetrics' own QualityReport score of both (computed by
SDMetrics in the SDV environment), our fidelity.py score on the same rows beside it, exact
copies of real rows, and the ratios.

SDV is not a dependency of DatasetGen. The benchmark creates (once) a separate venv
`.venv/bench-sdv` with SDV installed without torch (`pip install --no-deps sdv` plus its
non-torch dependencies and the table packages) and runs the SDV side there
(bench/_sdv_side.py), passing the data as Parquet files in a temp dir.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SDV_VENV = ROOT / ".venv" / "bench-sdv"
SDV_PYTHON = SDV_VENV / "bin" / "python"
SIDE = Path(__file__).resolve().parent / "_sdv_side.py"
# SDV 2.0 wants pandas < 3; ctgan/deepecho (torch) are left out on purpose.
SDV_NO_DEPS = ["sdv==2.0.0"]
SDV_DEPS = ["pandas==2.3.3", "numpy<2.4", "copulas==0.14.1", "rdt==2.0.0", "sdmetrics==0.32.0",
            "boto3", "botocore", "cloudpickle", "graphviz", "tqdm", "platformdirs", "pyyaml",
            "pyarrow", "palmerpenguins==0.1.6", "vega_datasets==0.9.0"]
PROBE = ("from sdv.single_table import GaussianCopulaSynthesizer; "
         "import sdmetrics, palmerpenguins, vega_datasets, pyarrow")
TIMEOUT_S = 1800


def ensure_sdv_venv() -> str:
    """The SDV venv's python, created and installed when missing (idempotent)."""
    if SDV_PYTHON.exists() and subprocess.run([str(SDV_PYTHON), "-c", PROBE],
                                              capture_output=True, check=False).returncode == 0:
        return str(SDV_PYTHON)
    print("creating .venv/bench-sdv (SDV without torch; once)", file=sys.stderr)
    if not SDV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SDV_VENV)], check=True)
    pip = [str(SDV_PYTHON), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", *SDV_NO_DEPS], check=True)
    subprocess.run([*pip, *SDV_DEPS], check=True)
    subprocess.run([str(SDV_PYTHON), "-c", PROBE], check=True)
    return str(SDV_PYTHON)


def sklearn_tables() -> dict[str, pd.DataFrame]:
    """scikit-learn's bundled iris and wine, with the class as a labelled category."""
    from sklearn.datasets import load_iris, load_wine

    out = {}
    for name, loader in (("iris", load_iris), ("wine", load_wine)):
        bunch = loader(as_frame=True)
        df = bunch.frame.copy()
        df["target"] = [str(bunch.target_names[i]) for i in df["target"]]
        out[name] = df
    return out


def _side(python: str, *args: str) -> Any:
    done = subprocess.run([python, str(SIDE), *args], capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"SDV side failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _metadata(report: dict[str, Any], real: pd.DataFrame) -> dict[str, dict[str, str]]:
    """SDV/SDMetrics column metadata from our plan: fresh columns are ids or unknown (neither
    is scored by the QualityReport)."""
    cols = {}
    for name, role in report["columns"].items():
        if role in ("numerical", "datetime", "categorical", "boolean"):
            cols[name] = {"sdtype": role}
        elif real[name].is_unique:
            cols[name] = {"sdtype": "id"}
        else:
            cols[name] = {"sdtype": "unknown", "pii": True}
    return cols


def run(model: str = "cart", seed: int = 0) -> dict[str, Any]:
    """Both generators on every table; a dict of figures."""
    from datasetgen_assets.synth import fidelity, privacy
    from datasetgen_assets.synth.augment import augment

    python = ensure_sdv_venv()
    results: dict[str, Any] = {"model": model, "tables": {}}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        names = _side(python, "export", str(d))
        tables = {n: pd.read_parquet(d / f"{n}.parquet") for n in names}
        tables.update(sklearn_tables())
        jobs = []
        ours_rows: dict[str, Any] = {}
        # warm-up: imports (scikit-learn, Faker) happen before timing, as on the SDV side
        augment(next(iter(tables.values())).head(40), rows=5, holdout=0, seed=seed)
        for name, real in tables.items():
            real.to_parquet(d / f"{name}.parquet", index=False)
            start = time.perf_counter()
            res = augment(real, rows=len(real), output="synthetic", seed=seed, method=model,
                          source=name)
            total = time.perf_counter() - start
            synth = res.synthetic
            synth.to_parquet(d / f"{name}.ours.parquet", index=False)
            cols = _metadata(res.report, real)
            ours_rows[name] = (res, total, cols)
            jobs.append({"name": name, "real": str(d / f"{name}.parquet"), "rows": len(real),
                         "columns": cols, "ours": str(d / f"{name}.ours.parquet"),
                         "sdv_out": str(d / f"{name}.sdv.parquet")})
        (d / "job.json").write_text(json.dumps({"tables": jobs}))
        side = _side(python, "run", str(d / "job.json"))
        results["versions"] = side["versions"]
        for name, real in tables.items():
            res, total, cols = ours_rows[name]
            sdv_synth = pd.read_parquet(d / f"{name}.sdv.parquet")
            sd = {c: m["sdtype"] for c, m in cols.items()
                  if m["sdtype"] in ("numerical", "datetime", "categorical", "boolean")}
            stat_cols = list(sd)
            s = side["tables"][name]
            ours_fit = res.report["fit_seconds"] + res.report["sample_seconds"]
            sdv_fit = s["sdv_fit_seconds"] + s["sdv_sample_seconds"]
            results["tables"][name] = {
                "rows": len(real), "columns": real.shape[1],
                "ours_fit_sample_s": round(ours_fit, 3), "ours_total_s": round(total, 3),
                "sdv_fit_sample_s": round(sdv_fit, 3),
                "speedup_fit_sample": round(sdv_fit / ours_fit, 1),
                "speedup_total": round(sdv_fit / total, 1),
                "sdmetrics_ours": round(s["ours_quality"]["score"], 4),
                "sdmetrics_sdv": round(s["sdv_quality"]["score"], 4),
                "fidelity_py_ours": round(fidelity.quality_report(real, res.synthetic,
                                                                  sd)["score"], 4),
                "fidelity_py_sdv": round(fidelity.quality_report(real, sdv_synth, sd)["score"],
                                         4),
                "sdmetrics_ours_props": s["ours_quality"], "sdmetrics_sdv_props": s["sdv_quality"],
                "exact_copies_ours": privacy.exact_copies(real, res.synthetic, stat_cols),
                "exact_copies_sdv": privacy.exact_copies(real, sdv_synth, stat_cols),
                "closer_to_training_ours": res.report["privacy"]["closer_to_training"],
                "report_quality_ours": res.report["quality_score"],
            }
    return results


def format_results(res: dict[str, Any]) -> str:
    """The printed lines."""
    v = res.get("versions", {})
    lines = [f"augmentation ({res['model']} model) vs SDV {v.get('sdv')} GaussianCopulaSynthesizer;"
             f" quality = SDMetrics {v.get('sdmetrics')} QualityReport (ours by fidelity.py in "
             "brackets, same rows); synthetic rows = real rows"]
    head = (f"  {'table':<16}{'rows x cols':>12}{'ours s':>9}{'SDV s':>8}{'faster':>8}"
            f"{'ours quality':>22}{'SDV quality':>22}{'copies ours/SDV':>17}{'DCR tr%':>9}")
    lines.append(head)
    wins = 0
    for name, t in res["tables"].items():
        better = t["sdmetrics_ours"] > t["sdmetrics_sdv"]
        wins += better
        lines.append(
            f"  {name:<16}{t['rows']:>6} x {t['columns']:<3}{t['ours_fit_sample_s']:>9.2f}"
            f"{t['sdv_fit_sample_s']:>8.2f}{t['speedup_fit_sample']:>7.1f}x"
            f"{t['sdmetrics_ours']:>12.4f} [{t['fidelity_py_ours']:.4f}]"
            f"{t['sdmetrics_sdv']:>12.4f} [{t['fidelity_py_sdv']:.4f}]"
            f"{t['exact_copies_ours']:>9} / {t['exact_copies_sdv']:<5}"
            f"{(t['closer_to_training_ours'] or 0) * 100:>8.1f}")
    n = len(res["tables"])
    lines.append(f"  ours better on {wins}/{n} tables; mean quality ours "
                 f"{sum(t['sdmetrics_ours'] for t in res['tables'].values()) / n:.4f} vs SDV "
                 f"{sum(t['sdmetrics_sdv'] for t in res['tables'].values()) / n:.4f}; "
                 "ours s = fit+sample (with profiling and scoring: "
                 + ", ".join(f"{k} {t['ours_total_s']:.2f}s" for k, t in res["tables"].items())
                 + ")")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Augmentation vs SDV GaussianCopula")
    parser.add_argument("--model", default="cart", choices=["cart", "copula"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    res = run(args.model, args.seed)
    print(format_results(res))
    from bench.common import save_results

    save_results("synth_augment", res)


if __name__ == "__main__":
    main()
