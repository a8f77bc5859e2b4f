"""Keep bearer tokens out of the server's logs: uvicorn logs each request's path with its query
string (e.g. `WebSocket /api/v1/events?token=...`), so token values there are replaced."""

from __future__ import annotations

import logging
import re

TOKEN_IN_QUERY = re.compile(r"(?i)((?:^|[?&;\s])(?:access_)?token=)[^&\s\"']+")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    """`text` with the values of `token=` / `access_token=` query parameters masked."""
    return TOKEN_IN_QUERY.sub(r"\1***", text)


class RedactTokens(logging.Filter):
    """Masks token query values in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
