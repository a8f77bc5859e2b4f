"""The visual pipeline builder: its palette (`GET /api/v1/step-types`) and its page.

`/builder` serves the Vite build of the front-end (datasetgen_api/static/builder/, made by
`make setup`) and `/builder/assets/{file}` its hashed scripts and styles; both are public like
/dashboard: the page holds no data and calls the API with the caller's token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

from datasetgen_api.responses import errors
from datasetgen_api.security import Principal, require
from datasetgen_api.step_catalog import catalog

router = APIRouter(tags=["builder"])
BUNDLE = Path(__file__).resolve().parent.parent / "static" / "builder"
MEDIA = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
         ".woff2": "font/woff2", ".ico": "image/x-icon", ".map": "application/json"}
NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Pipeline builder not built</title></head><body>
<h1>The pipeline builder is not built</h1>
<p>Run <code>make setup</code> (needs Node.js 20.19+ or 22.12+ and npm) to build it,
then reload this page.</p>
</body></html>"""


@router.get("/api/v1/step-types", responses=errors(401, 403))
def step_types(principal: Principal = Depends(require("pipeline.read"))) -> dict[str, Any]:
    """The builder's palette: groups (kind, label, colour) and every registered step type
    (kind, label, description, number of inputs, LLM use, config JSON schema), sorted by
    group then name; and the Dagster UI URL the nodes link to."""
    return catalog()


def bundle_assets(bundle: Path) -> dict[str, Path]:
    """The files the page may load, by name under /builder/assets/ (a fixed list of the
    bundle's assets folder, so no request path reaches the file system)."""
    folder = bundle / "assets"
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in MEDIA}


@router.get("/builder", summary="Visual pipeline builder page", include_in_schema=False)
def page() -> Response:
    index = BUNDLE / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    return FileResponse(index, media_type=MEDIA[".html"],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/builder/assets/{name:path}", summary="Builder scripts and styles",
            include_in_schema=False)
def asset(name: str) -> FileResponse:
    path = bundle_assets(BUNDLE).get(name)
    if path is None:
        raise HTTPException(404, detail=f"no builder file '{name}'")
    # hashed file names: a new build has new names, so they may be cached for long
    return FileResponse(path, media_type=MEDIA[path.suffix],
                        headers={"Cache-Control": "public, max-age=31536000, immutable",
                                 "X-Content-Type-Options": "nosniff"})
