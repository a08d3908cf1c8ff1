"""Real servers for integration tests: redis-server and `chroma run`, on free loopback ports.

Without the binary a test is skipped on a developer machine, but fails when ``CI`` is set: CI must run
these tests, not skip them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing(what: str) -> None:
    """Skip locally, fail in CI."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{what} is required in CI (see .ci/run)")
    pytest.skip(f"{what} is not installed")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A throw-away redis-server (no persistence) in ``workdir``; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server (Debian package redis-server)")
        return
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "redis.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--daemonize",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "redis-server did not start: " + (workdir / "redis.log").read_text(errors="replace")
                )
            time.sleep(0.05)
        yield url
    finally:
        _stop(proc)
        log.close()


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """`chroma run` (the chromadb package's server) on ``path``; yields its URL."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(chroma).exists():
        missing("the chroma CLI (chromadb package)")
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("chroma server did not start")
                time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


def backend_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings overrides for a test parametrised over the state backends ('sqlite' or 'redis'): Redis
    gets the module's server (fixture ``redis_url``) and a key prefix of its own."""
    overrides: dict[str, Any] = {"state_backend": request.param}
    if request.param == "redis":
        overrides |= {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": f"t{uuid.uuid4().hex}:",
        }
    return overrides
