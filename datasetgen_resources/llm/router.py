"""Routing (tier -> model per provider), the provider fallback chain's circuit breakers and
per-provider request/token rate limits. State is thread-safe so it is shared by every
structured() call of one client, whatever event loop runs it."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

TIERS = ("cheap", "standard", "best")


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; while open the provider is skipped.
    After `cooldown_s` one trial call is let through (half-open): success closes it."""

    threshold: int = 5
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    trips: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self) -> bool:
        with self._lock:
            if self.opened_at is None:
                return True
            if time.monotonic() - self.opened_at >= self.cooldown_s:
                self.opened_at = time.monotonic()  # half-open: one trial per cooldown
                return True
            return False

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def success(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold and self.opened_at is None:
                self.opened_at = time.monotonic()
                self.trips += 1


class RateLimiter:
    """Requests and tokens per minute (sliding one-minute window, reservations up front)."""

    def __init__(self, requests_per_minute: int | None, tokens_per_minute: int | None):
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._events: list[tuple[float, int]] = []
        self._lock = threading.Lock()

    def _wait_time(self, tokens: int) -> float:
        now = time.monotonic()
        self._events = [(t, n) for t, n in self._events if now - t < 60.0]
        wait = 0.0
        if self.rpm and len(self._events) >= self.rpm:
            wait = max(wait, 60.0 - (now - self._events[len(self._events) - self.rpm][0]))
        if self.tpm:
            used = sum(n for _, n in self._events)
            if used + tokens > self.tpm and self._events:
                acc = used
                for t, n in self._events:
                    acc -= n
                    if acc + tokens <= self.tpm:
                        wait = max(wait, 60.0 - (now - t))
                        break
        return wait

    async def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        while True:
            with self._lock:
                wait = self._wait_time(tokens)
                if wait <= 0:
                    self._events.append((time.monotonic(), tokens))
                    return
            await asyncio.sleep(min(wait, 1.0))
