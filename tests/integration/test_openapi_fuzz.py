"""Schemathesis against each running service: every operation of its GET /openapi.json,
with a bounded number of examples that conform to the document (positive) and that
break it (negative), derandomized. Each answer must be no 5xx, a documented status code,
the documented content type and, where a schema is documented, conform to it.

Run alone: `.venv/bin/pytest tests/integration/test_openapi_fuzz.py -s` prints how many
examples ran per operation.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from runtime.http import add_health_routes, add_json_errors, api
from runtime.openapi import Operation, Response, add_openapi_route
from runtime.schema import Integer, Param
from tests.integration.openapi_services import RECEIVER_TOKEN, SERVICES, ServedApp, serving

EXAMPLES_PER_MODE = int(os.environ.get("LOADWATCH_FUZZ_EXAMPLES", "10"))
"""Examples per operation and pass. Passes: positive; negative for an operation with
inputs (one without has nothing to break); positive with the integer path ids fixed to 1
(seeded, so it exists) for an operation that has them. So 10, 20 or 30 an operation."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
_REQUEST_TIMEOUT_S = 15.0


def run_last(operation: APIOperation) -> bool:
    """Changing a fake platform's behaviour can make later posts slow: do it last."""
    return operation.method.upper() == "POST" and operation.path.endswith("/behaviour")


def examine(
    operation: APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    statuses: Counter[int],
    path_parameters: dict[str, object] | None = None,
) -> None:
    """Run EXAMPLES_PER_MODE examples of `operation` in `mode` (with `path_parameters`
    fixed when given), counting the statuses."""

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def call(case: Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=_REQUEST_TIMEOUT_S)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    call()


def fuzz(base_url: str, headers: dict[str, str]) -> dict[str, Counter[int]]:
    """Run every operation of the document at base_url; the statuses each answered."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    answered: dict[str, Counter[int]] = {}
    for operation in sorted(operations, key=run_last):
        raw = operation.definition.raw
        has_input = "parameters" in raw or "requestBody" in raw
        statuses = answered[f"{operation.method.upper()} {operation.path}"] = Counter()
        examine(operation, GenerationMode.POSITIVE, base_url, headers, statuses)
        if has_input:
            examine(operation, GenerationMode.NEGATIVE, base_url, headers, statuses)
        ids: dict[str, object] = {
            p["name"]: 1
            for p in raw.get("parameters", [])
            if p["in"] == "path" and p["schema"].get("type") == "integer"
        }
        if ids:  # random ids of 1..2**31 - 1 seldom exist: also run with ids that do
            examine(operation, GenerationMode.POSITIVE, base_url, headers, statuses, ids)
    return answered


@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_document(
    service: str, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {RECEIVER_TOKEN}"} if service == "receiver" else {}
    with serving(service, tmp_path) as base_url:
        answered = fuzz(base_url, headers)
    total = sum(sum(statuses.values()) for statuses in answered.values())
    print(f"\n{service}: {len(answered)} operations, {total} examples")
    for label, statuses in answered.items():
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    assert answered and all(statuses for statuses in answered.values())
    successes = sum(n for statuses in answered.values() for s, n in statuses.items() if s < 300)
    assert successes > len(answered)  # beyond the health routes: examples reach the data


def broken_app(bug: str) -> web.Application:
    """One documented operation whose handler, on ids above 50, fails ("server error") or
    answers 200 with a body its document does not allow ("schema")."""
    item = Operation(
        "GET",
        "/items/{item_id}",
        "An item",
        {200: Response("The item", {"type": "object", "required": ["id"]})},
        params=(Param("item_id", "path", Integer(1, 100)),),
    )

    async def get_item(request: web.Request) -> web.Response:
        item_id = (await item.parse(request))["item_id"]
        if item_id > 50 and bug == "server error":
            raise RuntimeError("a bug")
        return web.json_response({"id": item_id} if item_id <= 50 else {"name": "x"})

    app = web.Application()
    app.router.add_get("/items/{item_id}", api(get_item))
    add_health_routes(app, None)
    add_json_errors(app)
    add_openapi_route(app, "broken", [item])
    return app


@pytest.mark.parametrize(("bug", "code"), [("server error", "ST101"), ("schema", "ST108")])
def test_the_suite_fails_on_a_5xx_and_on_a_body_outside_the_document(bug: str, code: str) -> None:
    served = ServedApp(broken_app(bug)).start()
    try:
        with pytest.raises(BaseExceptionGroup) as caught:
            fuzz(served.url, {})
    finally:
        served.stop()
    assert code in str(caught.value) and "/items/" in str(caught.value)
