"""Property-based API test: requests generated from the OpenAPI schema, valid and invalid ones,
never get a 5xx nor a status code (or body) that the schema does not document for the route.
And the same valid bodies with one value replaced by something Python's JSON parser reads but
no request may carry (NaN, infinities, lone surrogates, deep nesting, huge integers, bytes that
are not UTF-8), sent as raw bytes to every route: a 4xx with a strict-JSON error body, never a
5xx.

A bounded run over the app on a small fake-embedder index, through ASGI (no server). The web
HTML routes are not in the schema (``include_in_schema=False``) so they are not exercised.

Schemathesis's own pytest integration (``schemathesis.pytest.from_fixture``) does not run under
pytest 9 (it sets ``Function._nodeid``, which pytest 9 removed), and loading the schema at
import time would build an index and start the app whenever pytest collects this file. So each
operation's Hypothesis strategy (``APIOperation.as_strategy``) is driven here with ``@given``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
from service.schemas import AskRequest, SearchRequest
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
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
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
    return create_app(settings, embedder=embedder)


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Iterator[schemathesis.BaseSchema]:
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


# Hostile values in otherwise valid bodies, sent as raw bytes.

#: Per operation; raise it for a deeper run (CITED_HOSTILE_EXAMPLES).
HOSTILE_EXAMPLES = int(os.environ.get("CITED_HOSTILE_EXAMPLES", "60"))
SURROGATES = [b"\\ud800", b"\\udfff", b"\\udbff\\udbff", b"\\udc00x"]


def _string(prefix: str, inner: bytes) -> bytes:
    return b'"' + json.dumps(prefix)[1:-1].encode() + inner + b'"'


#: Raw JSON values that Python's parser reads (or that are bytes it guesses at) and that no
#: request may carry.
HOSTILE: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"[NaN]"]),
    st.builds(_string, st.text(max_size=6), st.sampled_from(SURROGATES)),
    st.integers(33, 12_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(33, 2_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(4_301, 6_000).map(lambda n: b"-" * (n % 2) + b"9" * n),
    st.builds(_string, st.text(max_size=6), st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xe9"])),
)
#: The fields of each body: a bad value there must be refused (elsewhere, as an unknown key of
#: a body that ignores unknown keys, it may be ignored). ``None``: every key is a field.
FIELDS: dict[str, frozenset[str] | None] = {
    "/search": frozenset(SearchRequest.model_fields),
    "/ask": frozenset(AskRequest.model_fields),
    "/ask/stream": frozenset(AskRequest.model_fields),
    "/articles": None,  # ArticleIn and ArticleBatch forbid unknown keys
}
MARKER = "\u2603 hostile value \u2603"


def locations(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The path of ``value`` itself and of every value inside it."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += locations(item, (*path, index))
    return found


def inject(body: Any, path: tuple[str | int, ...], token: bytes) -> bytes:
    """``body`` as JSON with the value at ``path`` replaced by the raw JSON text ``token``."""
    if not path:
        return token
    copy = json.loads(json.dumps(body))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = MARKER
    return json.dumps(copy).encode().replace(json.dumps(MARKER).encode(), token)


def strict_json(text: bytes) -> Any:
    """``text`` as strict JSON: UTF-8 (so no lone surrogate), no NaN or Infinity."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in a response body: {text[:300]!r}")

    return json.loads(text.decode("utf-8"), parse_constant=refuse)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_values_in_a_body_are_a_4xx_never_a_5xx(
    app: FastAPI, api_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    reads_body = method == "POST"
    media_type = "application/json" if reads_body else None
    strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, media_type=media_type)
    headers = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
    statuses: dict[int, int] = {}

    @settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, token=HOSTILE, data=st.data())
    def run(case: schemathesis.Case[Any], token: bytes, data: st.DataObject) -> None:
        base = case.body if reads_body and isinstance(case.body, dict | list) else {"x": 1}
        where = data.draw(st.sampled_from(locations(base)), label="replaced")
        response = client.request(
            method, case.formatted_path, content=inject(base, where, token), headers=headers
        )
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, response.text[:500]
        fields = FIELDS.get(path, frozenset())
        if reads_body and (not where or fields is None or where[0] in fields):
            assert status in (413, 422), (where, token[:80], response.text[:500])
        if status >= 400:
            assert response.headers["content-type"] == "application/json"
            body = strict_json(response.content)
            assert set(body) == {"detail", "status", "error"} and body["status"] == status

    # Its own lifespan: schemathesis's pytest plugin ends the one it starts after each test.
    with TestClient(app, raise_server_exceptions=False) as client:
        run()
    logger.info("%s %s (hostile bodies): statuses %s", method, path, dict(sorted(statuses.items())))
    assert statuses
