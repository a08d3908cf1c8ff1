"""schemathesis over the app's own OpenAPI document (bounded run; the long one is tools/fuzz_api.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from tools.fuzz_api import ADMIN_PREFIX, asgi_schema, build_app, format_report, fuzz, needs_token

pytestmark = pytest.mark.timeout(240)

EXAMPLES = 12  # per operation, mode (positive / negative) and auth variant: ~250 requests


def test_every_route_survives_fuzzing_and_matches_its_schema(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    schema = asgi_schema(app)
    report = fuzz(schema, examples=EXAMPLES)

    assert report.failures == [], format_report(report)
    assert report.server_errors == 0
    assert report.requests >= 200
    # Every operation of the document was called, admin ones with and without the token.
    labels = [op.ok().label for op in schema.get_all_operations()]
    assert any(ADMIN_PREFIX in label for label in labels) and "POST /v1/ask" in labels
    assert "POST /v1/review/{item_id}/answer" in labels and "POST /v1/feedback" in labels
    for label in labels:
        assert report.per_operation[f"{label} [positive{', token' if needs_token(label) else ''}]"] >= 1
        if needs_token(label):
            assert report.per_operation[f"{label} [positive, no-token]"] >= 1
    assert report.statuses[401] > 0  # the no-token pass really was refused
    assert report.statuses[200] > 0  # and the positive pass really answered


class _Thing(BaseModel):
    name: str


def test_the_harness_reports_a_5xx_and_a_response_that_breaks_its_schema() -> None:
    """The check above can fail: a broken app is caught."""
    broken = FastAPI()

    @broken.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("bug")

    @broken.get("/thing", responses={200: {"model": _Thing}})
    def thing() -> Any:
        return {"nombre": 3}  # the documented body has "name" (a string)

    report = fuzz(asgi_schema(broken), examples=2)
    found = {(f["operation"], f["failure"].split()[0]) for f in report.failures}
    assert ("GET /thing [positive]", "ST108") in found  # "Response violates schema"
    assert any(op.startswith("GET /boom") for op, _ in found)  # the 500 (raised through the transport)
