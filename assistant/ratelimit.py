"""Per-client token buckets (HTTP clients, Telegram users), shared by every process: in SQLite or in Redis.

Both implementations have the same semantics: ``rate`` requests per minute, bursts up to ``rate``, tokens
refilled continuously; :meth:`check` takes a token and returns 0, or returns the seconds to wait. A bucket
left alone for a minute is full again, so forgetting it (expiry, pruning) changes nothing.
Stores are built by :func:`make_rate_limiter` from the settings.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.settings import Settings
from assistant.storage import Outage, open_sqlite, outage, ratelimit_db, redis_client

REFILL_SECONDS = 60.0


class RateLimit(Protocol):
    rate: int

    def check(self, key: str) -> float:
        """0 when allowed (a token is taken), else seconds to wait."""
        ...


def _take(rate: int, tokens: float, last: float, now: float) -> tuple[float, float]:
    """(tokens left, seconds to wait) after one request at ``now``."""
    tokens = min(float(rate), tokens + max(0.0, now - last) * rate / REFILL_SECONDS)
    if tokens < 1.0:
        return tokens, (1.0 - tokens) * REFILL_SECONDS / rate
    return tokens - 1.0, 0.0


class SQLiteRateLimiter:
    """Token buckets shared by every process on the machine (API workers, the bot).

    One ``BEGIN IMMEDIATE`` transaction per check makes read-modify-write atomic across processes.
    ``synchronous=NORMAL``: a power cut may forget the last buckets, which only lets a client in early.
    """

    def __init__(self, path: Path, per_minute: int, *, scope: str = "api") -> None:
        self.rate = per_minute
        self.scope = scope
        self._lock = threading.Lock()
        self._checks = 0
        self._db: sqlite3.Connection | None = None
        if per_minute > 0:
            self._db = open_sqlite(
                path,
                "CREATE TABLE IF NOT EXISTS rate_buckets (scope TEXT NOT NULL, key TEXT NOT NULL,"
                " tokens REAL NOT NULL, at REAL NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID",
                synchronous="NORMAL",
            )

    def check(self, key: str) -> float:
        if self.rate <= 0 or self._db is None:
            return 0.0
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                row = db.execute(
                    "SELECT tokens, at FROM rate_buckets WHERE scope=? AND key=?", (self.scope, key)
                ).fetchone()
                tokens, last = row if row else (float(self.rate), now)
                tokens, wait = _take(self.rate, tokens, last, now)
                db.execute(
                    "INSERT OR REPLACE INTO rate_buckets VALUES (?,?,?,?)", (self.scope, key, tokens, now)
                )
                self._checks += 1
                if self._checks % 1000 == 0:  # full buckets carry no information
                    db.execute("DELETE FROM rate_buckets WHERE at < ?", (now - REFILL_SECONDS,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return wait


# KEYS[1]: the bucket (a hash: tokens, at). ARGV[1]: rate per minute. Server time, so that machines with
# different clocks share one bucket correctly. Returns the wait as a string (Lua numbers become integers).
_TAKE = """
local rate = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or rate
local last = tonumber(state[2]) or now
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
tokens = math.min(rate, tokens + elapsed * rate / refill)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) * refill / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(refill * 1000) + 1000)
return string.format('%.17g', wait)
"""


class RedisRateLimiter:
    """Token buckets shared by every machine: one Lua script per check (atomic), buckets expire by TTL.

    If Redis cannot be reached, requests are let through (and a warning is logged): an outage of the
    limiter must not become an outage of the service."""

    def __init__(
        self,
        client: Any,
        per_minute: int,
        *,
        scope: str = "api",
        prefix: str = "campo:",
        outage: Outage | None = None,
    ) -> None:
        self.rate = per_minute
        self.scope = scope
        self._outage = outage or Outage(f"rate limits ({scope})")
        self._prefix = f"{prefix}rl:{scope}:"
        self._take = client.register_script(_TAKE)

    def key(self, key: str) -> str:
        return self._prefix + key

    def check(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        try:
            return float(self._take(keys=[self.key(key)], args=[self.rate, REFILL_SECONDS]))
        except self._outage.errors as exc:
            self._outage.report(exc, "requests are not rate limited")
            return 0.0


def make_rate_limiter(settings: Settings, scope: Literal["api", "bot"]) -> RateLimit:
    """Token buckets shared by every process: ``api`` per client (API key or IP), ``bot`` per user."""
    per_minute = settings.rate_limit_per_minute if scope == "api" else settings.bot_rate_limit_per_minute
    if settings.state_backend == "redis":
        return RedisRateLimiter(
            redis_client(settings),
            per_minute,
            scope=scope,
            prefix=settings.redis_prefix,
            outage=outage(f"rate limits ({scope})"),
        )
    return SQLiteRateLimiter(ratelimit_db(settings), per_minute, scope=scope)
