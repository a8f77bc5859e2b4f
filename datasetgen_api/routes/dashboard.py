"""`/dashboard`: the monitoring page and its static files (public: the page holds no data; it
loads the numbers from /api/v1/monitoring/metrics/dashboard with the caller's token)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(tags=["monitoring"])
STATIC = Path(__file__).resolve().parent.parent / "static"
MEDIA = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
NO_STORE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def static_files() -> dict[str, Path]:
    """The files the page may load, by URL path under /dashboard/static/ (a fixed list, so
    no request path ever reaches the file system)."""
    return {p.relative_to(STATIC).as_posix(): p for p in sorted(STATIC.rglob("*"))
            if p.is_file() and p.suffix in MEDIA and p.name != "dashboard.html"
            and p.relative_to(STATIC).parts[0] != "builder"}  # the builder serves its own


_FILES = static_files()


@router.get("/dashboard", summary="Monitoring dashboard page", response_class=FileResponse,
            include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html", media_type=MEDIA[".html"], headers=NO_STORE)


@router.get("/dashboard/static/{name:path}", summary="Dashboard scripts and styles",
            response_class=FileResponse, include_in_schema=False)
def static(name: str) -> FileResponse:
    path = _FILES.get(name)
    if path is None:
        raise HTTPException(404, detail=f"no dashboard file '{name}'")
    return FileResponse(path, media_type=MEDIA[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})
