"""Step progress events for displays (the CLI's progress bar). In-process listeners only."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, str, dict[str, Any]], None]  # (event, step key, details)
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Add a listener; returns a function that removes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def emit(event: str, key: str, **details: Any) -> None:
    """Tell every listener; a failing display never fails a step."""
    for listener in list(_listeners):
        with contextlib.suppress(Exception):  # displays are best effort
            listener(event, key, details)
