"""Property-based API test: requests generated from the OpenAPI schema, valid and invalid ones,
never get a 5xx nor a status code (or body) that the schema does not document for the route.

A bounded run over the app on a small fake-embedder index, through ASGI (no server). The web
HTML routes are not in the schema (``include_in_schema=False``) so they are not exercised.

Schemathesis's own pytest integration (``schemathesis.pytest.from_fixture``) does not run under
pytest 9 (it sets ``Function._nodeid``, which pytest 9 removed), and loading the schema at
import time would build an index and start the app whenever pytest collects this file. So each
operation's Hypothesis strategy (``APIOperation.as_strategy``) is driven here with ``@given``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.python import asgi

from cited.config import Settings
from service.app import create_app
from tests.api_support import build_small_index
from tests.fakes import HashingEmbedder

logger = logging.getLogger(__name__)

TOKEN = "schemathesis-admin-token"
#: Per operation and generation mode; raise it for a deeper run (CITED_SCHEMATHESIS_EXAMPLES).
MAX_EXAMPLES = int(os.environ.get("CITED_SCHEMATHESIS_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,  # no 5xx
    status_code_conformance,  # only documented status codes
    content_type_conformance,
    response_schema_conformance,  # bodies (error bodies too) match their documented model
]
#: Every operation of the schema. The admin write routes get the admin token, so generated
#: articles are really indexed (new versions are published and served during the run).
OPERATIONS = [
    ("GET", "/health"),
    ("POST", "/search"),
    ("POST", "/ask"),
    ("POST", "/ask/stream"),
    ("GET", "/articles/{article_id}"),
    ("POST", "/articles"),
    ("DELETE", "/articles/{article_id}"),
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    embedder = HashingEmbedder()
    index_dir = build_small_index(tmp_path_factory.mktemp("schemathesis"), embedder)
    settings = Settings.of(
        index_dir=index_dir,
        max_body_bytes=16 * 1024,
        upload_max_bytes=64 * 1024,
        abstain_threshold=0.2,
        reload_interval_s=0,
        admin_token=TOKEN,
    )
    app = create_app(settings, embedder=embedder)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()  # from_asgi started the app's lifespan: close the index


def test_every_operation_is_exercised(api_schema: schemathesis.BaseSchema) -> None:
    results = list(api_schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the schema has invalid operations"
    assert {(op.method.upper(), op.path) for op in operations} == set(OPERATIONS)


#: Invalid requests (negative mode) only where a request can be invalid: the routes with a body.
#: A GET or DELETE takes nothing but a path string, which any string satisfies.
RUNS = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or method == "POST"
]


@pytest.mark.parametrize(("method", "path", "mode"), RUNS, ids=[f"{m} {p} {g}" for m, p, g in RUNS])
def test_documented_statuses_and_no_server_errors(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"} if method in ("POST", "DELETE") else None

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    run()
    logger.info("%s %s (%s): statuses %s", method, path, mode, dict(sorted(statuses.items())))
    assert statuses
