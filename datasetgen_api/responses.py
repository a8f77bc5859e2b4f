"""OpenAPI descriptions of the API's error responses, shared by the routers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

TEXTS = {400: "Malformed request", 401: "Missing, invalid or expired token",
         403: "Permission not granted by the caller's roles",
         404: "Not found in the caller's workspace", 409: "Conflicts with the current state",
         413: "Upload too large", 415: "Unsupported content (type sniffed from the bytes)",
         422: "Invalid input (the field and the fix are named)",
         503: "A service the API needs (Dagster, storage) does not answer"}


class ErrorDetail(BaseModel):
    detail: str | list[dict[str, Any]] | dict[str, Any] = Field(
        description="What is wrong and how to fix it (a list for request validation errors; "
                    "an object with `message` and located `errors` for invalid pipelines).")


def errors(*codes: int, **texts: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses (`texts`: `e404="..."` overrides)."""
    return {c: {"model": ErrorDetail, "description": texts.get(f"e{c}", TEXTS[c])}
            for c in codes}
