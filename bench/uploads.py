"""Upload sensor tick time over a prefix of 10,000 objects of which 10 are new, on a real
S3-compatible server (SeaweedFS) and on a local folder. Baseline: the bare listing of the
prefix (every tick must list it; ListObjectsV2 cannot filter by time)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from datasetgen_resources.landing import LandingZone, LocalLandingZone, S3LandingZone
from sensors.cursor import Cursor, plan_tick


def _tick_times(zone: LandingZone, put_all: Callable[[Iterable[str]], None], n: int,
                new: int) -> dict:
    put_all(f"up/old/{i:05d}.csv" for i in range(n - new))
    cursor = plan_tick(zone.list_objects("up/"), Cursor(), max_runs=n).cursor
    time.sleep(1.1)  # the new ones get a later LastModified second
    put_all(f"up/new/{i:02d}.csv" for i in range(new))
    t = time.perf_counter()
    listed = list(zone.list_objects("up/"))
    list_s = time.perf_counter() - t
    t = time.perf_counter()
    plan = plan_tick(zone.list_objects("up/"), cursor, max_runs=n)
    tick_s = time.perf_counter() - t
    assert len(listed) == n and len(plan.to_run) == new, (len(listed), len(plan.to_run))
    return {"objects": n, "new": new, "list_s": round(list_s, 3), "tick_s": round(tick_s, 3),
            "overhead": round(tick_s / list_s, 2)}


def bench_local(n: int = 10_000, new: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def put_all(keys: Iterable[str]) -> None:
            for key in keys:
                (root / key).parent.mkdir(parents=True, exist_ok=True)
                (root / key).write_text("a\n1\n")

        return _tick_times(LocalLandingZone(root=tmp), put_all, n, new)


def bench_s3(n: int = 10_000, new: int = 10) -> dict:
    from tests.fixtures.s3 import _start_seaweedfs, _stop

    with tempfile.TemporaryDirectory() as tmp:
        started = _start_seaweedfs(Path(tmp))
        if started is None:
            return {"error": "SeaweedFS (weed) is not installed"}
        proc, server = started
        names = ("DATASETGEN_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        saved = {k: os.environ.get(k) for k in names}
        os.environ.update(dict(zip(names, (server.endpoint_url, server.access_key,
                                           server.secret_key), strict=True)))
        client = server.client()

        def put_all(keys: Iterable[str]) -> None:
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(lambda k: client.put_object(
                    Bucket=server.bucket, Key=f"landing/{k}", Body=b"a\n1\n"), keys))

        try:
            return _tick_times(S3LandingZone(bucket=server.bucket, prefix="landing"), put_all,
                               n, new)
        finally:
            _stop(proc)
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def run_all() -> dict:
    return {"local": bench_local(), "s3": bench_s3()}
