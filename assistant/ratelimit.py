"""Per-client token buckets (HTTP clients, Telegram users)."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Token bucket per client key; ``rate`` requests per minute, bursts up to ``rate``."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 when allowed, else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - last) * self.rate / 60.0)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) * 60.0 / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 50_000:  # bounded memory under many clients
                self._buckets.clear()
            return 0.0
