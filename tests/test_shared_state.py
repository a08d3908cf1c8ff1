"""One contract for shared state — conversations, rate limits, feedback — on SQLite and on a real Redis.

Redis is a real ``redis-server`` started on a free loopback port (no persistence, temp dir). Concurrency
is tested with two processes (each with two threads) against the same store, as several API workers or
machines would use it.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from assistant.feedback import export_feedback
from assistant.sessions import RedisSessionStore, SessionStore, Turn
from assistant.settings import Settings
from assistant.state import make_feedback_store, make_rate_limiter, make_session_store, redis_client
from tests.servers import backend_overrides, free_port

# This module is imported by the spawned worker processes too: it imports only the light state modules.
pytestmark = pytest.mark.integration


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", **overrides)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """Two separate Python processes (spawned once per module: spawning is the slow part)."""
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as executor:
        warm = [executor.submit(_warm_up) for _ in range(2)]
        assert len({f.result(timeout=120) for f in warm}) == 2
        yield executor


@pytest.fixture(params=["sqlite", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings selecting one backend; each test gets its own data dir / Redis key prefix."""
    return make_settings(tmp_path, session_backend="state", **backend_overrides(request))


def sessions(settings: Settings, **knobs: Any) -> SessionStore:
    """A store with knobs outside the settings' production bounds (e.g. a 1 s TTL)."""
    return make_session_store(settings.model_copy(update={f"session_{k}": v for k, v in knobs.items()}))


def turn(i: int | str, at: float | None = None) -> Turn:
    return Turn(question=f"q{i}", query=f"q{i}", answer=f"a{i}", abstained=False, at=at or time.time())


def run_in_two_processes(pool: ProcessPoolExecutor, target: Any, *args: Any) -> list[Any]:
    """``target(start_at, *args)`` in both pool processes, starting together; their (pid, result)."""
    start_at = time.time() + 0.5  # both tasks are waiting by then, each blocking one process
    futures = [pool.submit(target, start_at, *args) for _ in range(2)]
    results = [f.result(timeout=60) for f in futures]
    assert len({pid for pid, _ in results}) == 2, "both tasks ran in the same process"
    return results


def _warm_up() -> int:
    time.sleep(0.5)  # keeps this process busy so the other task goes to the other process
    return os.getpid()


def _wait_until(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def in_two_threads(fn: Any) -> list[Any]:
    out: list[Any] = [None, None]

    def run(i: int) -> None:
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


# --- workers (top level: the spawned processes import them) -----------------------------------
def _append_worker(start_at: float, settings: Settings, session_id: str, n: int) -> tuple[int, None]:
    store = sessions(settings, max_turns=50)
    _wait_until(start_at)
    in_two_threads(lambda t: [store.append(session_id, turn(f"{os.getpid()}-{t}-{i}")) for i in range(n)])
    return os.getpid(), None


def _rate_worker(start_at: float, settings: Settings, key: str, n: int) -> tuple[int, tuple[int, float]]:
    limiter = make_rate_limiter(settings, "api")
    _wait_until(start_at)
    allowed = in_two_threads(lambda _: sum(limiter.check(key) == 0 for _ in range(n)))
    return os.getpid(), (sum(allowed), time.time() - start_at)


def _feedback_worker(start_at: float, settings: Settings, n: int) -> tuple[int, None]:
    store = make_feedback_store(settings)
    _wait_until(start_at)
    in_two_threads(
        lambda t: [store.record(f"{os.getpid()}-{t}", "vote", f"q{i}", "a", vote=1) for i in range(n)]
    )
    return os.getpid(), None


# --- conversations ---------------------------------------------------------------------------
def test_keeps_only_the_last_turns_and_forgets(state: Settings) -> None:
    store = sessions(state, max_turns=3)
    for i in range(5):
        store.append("chat", turn(i))
    assert [t.question for t in store.history("chat")] == ["q2", "q3", "q4"]
    assert store.history("other") == []
    assert store.count() == 1
    store.forget("chat")
    assert store.history("chat") == [] and store.count() == 0


def test_turns_older_than_the_ttl_are_not_returned(state: Settings) -> None:
    store = sessions(state, ttl_seconds=60)
    store.append("chat", turn(1, at=time.time() - 120))
    store.append("chat", turn(2))
    assert [t.question for t in store.history("chat")] == ["q2"]


def test_a_conversation_expires_after_its_idle_time(state: Settings) -> None:
    store = sessions(state, ttl_seconds=1)
    store.append("chat", turn(1))
    assert [t.question for t in store.history("chat")] == ["q1"]
    time.sleep(1.3)
    assert store.history("chat") == []
    assert store.count() == 0
    if isinstance(store, RedisSessionStore):  # gone from Redis itself (TTL), not only filtered out
        assert redis_client(state).exists(store.key("chat")) == 0


def test_a_turn_written_by_one_worker_is_read_by_another(state: Settings) -> None:
    sessions(state).append("chat", turn(1))
    assert [t.question for t in sessions(state).history("chat")] == ["q1"]  # a new store = another worker


def test_redis_bounds_the_number_of_conversations(tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(
        tmp_path, state_backend="redis", session_backend="state", redis_url=redis_url, redis_prefix="bound:"
    )
    store = sessions(settings, max_count=10)
    for i in range(25):
        store.append(f"chat-{i}", turn(i))
    assert store.count() == 10
    assert store.history("chat-0") == [] and store.history("chat-24")
    assert redis_client(settings).exists("bound:session:chat-0") == 0  # the turns are deleted too


def test_concurrent_appends_from_two_processes_lose_nothing(
    state: Settings, pool: ProcessPoolExecutor
) -> None:
    pids = [pid for pid, _ in run_in_two_processes(pool, _append_worker, state, "shared", 10)]
    questions = [t.question for t in sessions(state, max_turns=50).history("shared")]
    assert len(questions) == 40 and len(set(questions)) == 40  # 2 processes x 2 threads x 10 turns
    for pid in pids:
        assert sum(q.startswith(f"q{pid}-") for q in questions) == 20


def test_concurrent_appends_keep_the_bound(state: Settings, pool: ProcessPoolExecutor) -> None:
    run_in_two_processes(pool, _append_worker, state, "bounded", 10)
    assert len(sessions(state, max_turns=5).history("bounded")) == 5
    assert len(sessions(state, max_turns=50).history("bounded")) == 40  # stored with max_turns=50


# --- rate limits ---------------------------------------------------------------------------
def test_rate_limit_allows_a_burst_then_asks_to_wait(state: Settings) -> None:
    limiter = make_rate_limiter(state.model_copy(update={"rate_limit_per_minute": 5}), "api")
    assert [limiter.check("client-a") for _ in range(5)] == [0.0] * 5
    wait = limiter.check("client-a")
    assert 11.0 < wait <= 12.0  # one token every 12 s at 5/min
    assert limiter.check("client-b") == 0.0  # other clients are not affected
    bot = make_rate_limiter(state.model_copy(update={"bot_rate_limit_per_minute": 5}), "bot")
    assert bot.check("client-a") == 0.0  # the bot's buckets are separate from the API's


def test_rate_limit_refills(state: Settings) -> None:
    limiter = make_rate_limiter(state.model_copy(update={"rate_limit_per_minute": 120}), "api")
    allowed = sum(limiter.check("client") == 0.0 for _ in range(120))
    assert allowed == 120
    wait = limiter.check("client")
    assert 0 < wait <= 0.5
    time.sleep(wait + 0.05)
    assert limiter.check("client") == 0.0


def test_rate_limit_zero_means_off(state: Settings) -> None:
    limiter = make_rate_limiter(state.model_copy(update={"rate_limit_per_minute": 0}), "api")
    assert all(limiter.check("client") == 0.0 for _ in range(500))


def test_rate_limit_is_shared_by_two_processes(state: Settings, pool: ProcessPoolExecutor) -> None:
    settings = state.model_copy(update={"rate_limit_per_minute": 30})
    results = run_in_two_processes(pool, _rate_worker, settings, "shared-client", 15)
    allowed = sum(n for _, (n, _) in results)
    elapsed = max(seconds for _, (_, seconds) in results)
    # 60 attempts against one bucket of 30 (refilled at 0.5/s while the test runs): one limit, not two.
    assert 30 <= allowed <= 30 + int(elapsed * 0.5) + 1


def test_redis_rate_limit_buckets_expire(tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(tmp_path, state_backend="redis", redis_url=redis_url, redis_prefix="rl-ttl:")
    make_rate_limiter(settings, "api").check("client")
    ttl_ms = redis_client(settings).pttl("rl-ttl:rl:api:client")
    assert 59_000 < ttl_ms <= 61_000


# --- feedback ------------------------------------------------------------------------------
PERSONAL = "Mi CURP es GODE561231HDFRRN09, mi teléfono 55 1234 5678; ¿puedo pedir el apoyo?"


def test_feedback_is_redacted_and_exported(state: Settings, tmp_path: Path) -> None:
    store = make_feedback_store(state)
    store.record(5215512345678, "abstained", PERSONAL, "No lo encontré en las reglas.", index_version="v1")
    store.record(5215512345678, "vote", "¿cuánto es el apoyo?", "8,000 pesos", vote=-1)
    rows = make_feedback_store(state).rows()  # read back by another process' store
    assert [r["kind"] for r in rows] == ["abstained", "vote"]
    assert rows[0]["question"] == "Mi CURP es [CURP], mi teléfono [TELÉFONO]; ¿puedo pedir el apoyo?"
    assert rows[0]["chat"] == store.chat_hash(5215512345678) and "5215512345678" not in str(rows)
    assert rows[0]["index_version"] == "v1" and rows[1]["vote"] == -1
    out = tmp_path / "feedback.csv"
    assert export_feedback(state, str(out)) == 2
    exported = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["question"] for r in exported] == [rows[0]["question"], "¿cuánto es el apoyo?"]
    assert "GODE561231HDFRRN09" not in out.read_text("utf-8")


def test_cli_feedback_export_reads_the_configured_backend(state: Settings, tmp_path: Path) -> None:
    make_feedback_store(state).record(1, "abstained", PERSONAL, "No lo encontré.")
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(state.data_dir),
        "CAMPO_STATE_BACKEND": state.state_backend,
        "CAMPO_REDIS_URL": state.redis_url.get_secret_value(),
        "CAMPO_REDIS_PREFIX": state.redis_prefix,
    }
    run = subprocess.run(
        [sys.executable, "-m", "campo.cli", "feedback", "export"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert len(rows) == 1 and "[CURP]" in rows[0]["question"] and "GODE" not in run.stdout
    assert "Exportados 1 registros." in run.stderr


def test_concurrent_feedback_from_two_processes(state: Settings, pool: ProcessPoolExecutor) -> None:
    run_in_two_processes(pool, _feedback_worker, state, 10)
    rows = make_feedback_store(state).rows()
    assert len(rows) == 40 and len({r["chat"] for r in rows}) == 4


# --- Redis outage ------------------------------------------------------------------------------
def test_an_unreachable_redis_degrades_instead_of_failing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path,
        state_backend="redis",
        session_backend="state",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        rate_limit_per_minute=1,
    )
    store = make_session_store(settings)
    store.append("chat", turn(1))
    assert store.history("chat") == []  # the question is answered, without follow-up memory
    limiter = make_rate_limiter(settings, "api")
    assert limiter.check("client") == 0.0 and limiter.check("client") == 0.0  # let through
    feedback = make_feedback_store(settings)
    feedback.record(1, "abstained", PERSONAL, "No lo encontré.")  # does not raise: the user gets the answer
    assert "redis unreachable for sessions" in caplog.text
    assert "redis unreachable for rate limits (api)" in caplog.text
    assert "feedback not stored" in caplog.text and "[CURP]" in caplog.text and "GODE5612" not in caplog.text
    with pytest.raises(Exception, match="onnect"):
        feedback.rows()  # an export must fail loudly, not return nothing
