"""Fuzz the HTTP API with schemathesis, from the app's own OpenAPI document, over a real tiny index.

Every operation of ``/openapi.json`` is exercised with schema-valid (positive) and schema-invalid
(negative) requests, admin operations twice: with the bearer token and without it. Checks: no 5xx,
documented status codes and content types, bodies that match their response schema, invalid input
rejected with a 4xx, and every admin call without the token answered 401 in the API's error shape.

Usage (the default test suite runs a small budget of the same harness, tests/test_fuzz_api.py)::

    .venv/bin/python tools/fuzz_api.py                       # 300 examples per operation and mode
    .venv/bin/python tools/fuzz_api.py --examples 1000 --json fuzz.json
    .venv/bin/python tools/fuzz_api.py --uvicorn             # a real uvicorn on loopback

Exit status 0 when no check failed, 1 otherwise (the failures are printed with a curl to reproduce).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.conftest` importable
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ADMIN_TOKEN = "fuzz-admin-token-" + "x" * 24
ADMIN_PREFIX = "/v1/admin"
ADMIN_PREFIXES = (ADMIN_PREFIX, "/v1/review")  # routes that need the admin bearer token


def needs_token(path_or_label: str) -> bool:
    return any(p in path_or_label for p in ADMIN_PREFIXES)


@dataclass
class FuzzReport:
    """What one fuzzing run sent and what it found."""

    requests: int = 0
    seconds: float = 0.0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    per_operation: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": self.server_errors,
            "per_operation": self.per_operation,
            "failures": self.failures,
        }


def build_app(data_root: Path, *, admin_token: str = ADMIN_TOKEN) -> Any:
    """The real app over a real tiny index (tests/conftest.py records), fast hashing embeddings."""
    from assistant.api.app import create_app
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbeddings
    from assistant.sessions import MemorySessionStore
    from tests.conftest import build_test_index, make_settings

    settings = make_settings(data_root, admin_token=admin_token, rate_limit_per_minute=0)
    build_test_index(settings)
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assistant.versions.check_interval = 0
    return create_app(settings, assistant, embeddings=HashingEmbeddings())


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]


def _failure_titles(exc: BaseException) -> list[str]:
    if isinstance(exc, BaseExceptionGroup):
        return [t for e in exc.exceptions for t in _failure_titles(e)]
    code = getattr(exc, "code", "")
    return [f"{code} {getattr(exc, 'title', type(exc).__name__)}".strip()]


def _runner(
    report: FuzzReport, record: Any, checks: list[Any], name: str, variant: str, headers: dict[str, str]
) -> tuple[Any, list[int]]:
    """The body run for each generated case, and a one-element list counting the calls."""
    counter = [0]

    def run_one(case: Any) -> None:
        counter[0] += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the ASGI transport re-raises what the app did not handle
            report.requests += 1
            report.statuses[599] += 1
            record(name, [f"request raised {type(exc).__name__}: {exc}"[:300]], case, 599, "", headers)
            return
        report.requests += 1
        report.statuses[response.status_code] += 1
        titles: list[str] = []
        if variant == "no-token":
            # Without the token an admin route answers 401, whatever else is wrong with the request.
            try:
                body = response.json()
            except ValueError:
                body = None
            if response.status_code != 401 or not isinstance(body, dict) or "error" not in body:
                titles.append("admin route without token did not answer 401")
        else:
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except (AssertionError, BaseExceptionGroup) as exc:
                titles = _failure_titles(exc)
        if titles:
            record(name, titles, case, response.status_code, response.text, headers)

    return run_one, counter


def fuzz(
    schema: Any,
    *,
    examples: int,
    admin_token: str = ADMIN_TOKEN,
    modes: tuple[str, ...] = ("positive", "negative"),
    seed: int | None = None,
    max_failures_per_kind: int = 3,
) -> FuzzReport:
    """Run every operation of ``schema`` (a schemathesis OpenAPI schema bound to the app)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    checks = _checks()
    report = FuzzReport()
    started = time.monotonic()
    seen_kinds: collections.Counter[tuple[str, str]] = collections.Counter()

    def record(operation: str, titles: list[str], case: Any, status: int, body: str, headers: Any) -> None:
        for title in dict.fromkeys(titles):
            key = (operation, title)
            seen_kinds[key] += 1
            if seen_kinds[key] <= max_failures_per_kind:
                report.failures.append(
                    {
                        "operation": operation,
                        "failure": title,
                        "status": status,
                        "body": body[:400],
                        "curl": case.as_curl_command(headers=headers)[:1500],
                    }
                )

    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        is_admin = needs_token(operation.path)
        variants = [("token", {"Authorization": f"Bearer {admin_token}"})] if is_admin else [("", {})]
        if is_admin:
            variants.append(("no-token", {}))
        for mode in modes:
            generation_mode = GenerationMode(mode)
            for variant, headers in variants:
                name = f"{label} [{mode}{', ' + variant if variant else ''}]"

                run_one, counter = _runner(report, record, checks, name, variant, headers)
                strategy = operation.as_strategy(generation_mode=generation_mode)
                test = settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=seed is None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate],  # no shrinking: report and go on
                )(given(strategy)(run_one))
                if seed is not None:
                    test = hypothesis_seed(seed)(test)
                with contextlib.suppress(Unsatisfiable):  # e.g. no negative case for a body-less GET
                    test()
                report.per_operation[name] = counter[0]
    report.seconds = time.monotonic() - started
    return report


def asgi_schema(app: Any) -> Any:
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", app)


@contextlib.contextmanager
def uvicorn_schema(app: Any) -> Iterator[Any]:
    """Serve ``app`` with a real uvicorn on a free loopback port; yield the schema loaded over HTTP."""
    import schemathesis

    from tools.load_test import serve_in_thread

    with serve_in_thread(app) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


def format_report(report: FuzzReport) -> str:
    lines = [
        f"requests sent: {report.requests} in {report.seconds:.1f} s",
        "statuses: " + ", ".join(f"{k}×{v}" for k, v in sorted(report.statuses.items())),
        f"5xx: {report.server_errors}",
        f"failures: {len(report.failures)}",
    ]
    for name, n in report.per_operation.items():
        lines.append(f"  {n:5d}  {name}")
    for failure in report.failures:
        lines += [
            "",
            f"--- {failure['operation']}: {failure['failure']} (HTTP {failure['status']})",
            f"    {failure['body'][:300]}",
            f"    {failure['curl'][:600]}",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=300, help="examples per operation, mode and auth")
    parser.add_argument("--modes", default="positive,negative")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: derandomized)")
    parser.add_argument("--uvicorn", action="store_true", help="a real uvicorn on loopback, not ASGI")
    parser.add_argument("--json", help="write the report as JSON to this file")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="campo-fuzz-") as tmp:
        app = build_app(Path(tmp))
        runner = uvicorn_schema(app) if args.uvicorn else contextlib.nullcontext(asgi_schema(app))
        with runner as schema:
            report = fuzz(
                schema,
                examples=args.examples,
                modes=tuple(m.strip() for m in args.modes.split(",") if m.strip()),
                seed=args.seed,
            )
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), "utf-8")
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
