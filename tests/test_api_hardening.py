"""Hardened API: one JSON error shape, body limits per path, request timeout, documented codes."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from cited.config import Settings
from indexer.errors import IndexIntegrityError
from service.app import create_app
from service.errors import DAMAGED_DETAIL, INTERNAL_ERROR_DETAIL, install_error_handlers
from service.limits import BodySizeLimit, RequestTimeout
from tests.api_support import build_small_index
from tests.fakes import HashingEmbedder

MAX_BODY = 4096
UPLOAD_MAX = 8192
TIMEOUT_S = 0.3


def assert_error_shape(body: dict[str, Any], status: int, error: str) -> None:
    assert set(body) == {"detail", "status", "error"}, body
    assert body["status"] == status and body["error"] == error


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The real app over a small index built with the fake embedder."""
    embedder = HashingEmbedder()
    index_dir = build_small_index(tmp_path_factory.mktemp("hardening"), embedder)
    settings = Settings.of(index_dir=index_dir, max_body_bytes=MAX_BODY, abstain_threshold=0.2)
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


def tiny_app(timeout_s: float = TIMEOUT_S) -> FastAPI:
    """Routes that fail, sleep or stream on purpose, behind the same handlers and middlewares."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.sync_done = threading.Event()
    app.state.slow_cancelled = threading.Event()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/damaged")
    def damaged() -> None:
        raise IndexIntegrityError("/srv/index/versions/v1/segments/s1/store.sqlite: malformed")

    @app.get("/private")
    def private() -> None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            app.state.slow_cancelled.set()
            raise
        return {"ok": True}

    @app.get("/slow-sync")
    def slow_sync() -> dict[str, bool]:
        time.sleep(3 * timeout_s)
        app.state.sync_done.set()
        return {"ok": True}

    @app.get("/items/{item_id}")
    @app.delete("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.get("/quick")
    async def quick() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            yield b"first "
            await asyncio.sleep(3 * timeout_s)  # longer than the timeout, after the start
            yield b"second"

        return StreamingResponse(pieces(), media_type="text/plain")

    @app.post("/echo")
    @app.post("/articles")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY, path_limits={"/articles": UPLOAD_MAX})
    app.add_middleware(RequestTimeout, timeout_s=timeout_s)
    return app


@pytest.fixture
def tiny() -> Iterator[TestClient]:
    with TestClient(tiny_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def chunked(total: int) -> Iterator[bytes]:
    """A body without content-length, sent in pieces."""
    yield b'{"question": "'
    for _ in range(total // 1000):
        yield b"a" * 1000
    yield b'"}'


# Error bodies of the real app


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    for path in ("/no/such/route", "/static/no-such-file.css"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert_error_shape(response.json(), 404, "Not Found")


def test_unknown_article_keeps_its_detail(client: TestClient) -> None:
    response = client.get("/articles/no-such-story")
    assert response.status_code == 404
    body = response.json()
    assert_error_shape(body, 404, "Not Found")
    assert "no-such-story" in body["detail"]


def test_wrong_method_is_a_json_405_with_allow(client: TestClient) -> None:
    response = client.get("/search")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert_error_shape(response.json(), 405, "Method Not Allowed")


def test_oversized_bodies_are_a_json_413(client: TestClient) -> None:
    declared = client.post("/ask", json={"question": "a" * (MAX_BODY + 1)})
    assert declared.status_code == 413
    body = declared.json()
    assert_error_shape(body, 413, "Request Entity Too Large")
    assert str(MAX_BODY) in body["detail"]
    response = client.post(
        "/search", content=chunked(2 * MAX_BODY), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert_error_shape(response.json(), 413, "Request Entity Too Large")


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/search", {"query": "rates", "k": 0}, "k"),
        ("/search", {"query": "rates", "k": 101}, "k"),
        ("/search", {"query": "rates", "k": "many"}, "k"),
        ("/search", {"query": "r" * 2001}, "query"),
        ("/search", {"query": "   "}, "query"),
        ("/search", {"query": "rates", "published_from": 0}, "published_from"),
        ("/search", {"query": "rates", "published_to": "1700000000"}, "published_to"),
        ("/ask", {"question": "why?", "k": 0}, "k"),
        ("/ask", {"question": "why?", "k": 101}, "k"),
        ("/ask", {"question": "q" * 2001}, "question"),
        ("/ask/stream", {"question": "q" * 2001}, "question"),
        (
            "/ask",
            {"question": "why?", "published_from": "2024-02-01", "published_to": "2024-01-01"},
            "body",
        ),
    ],
)
def test_invalid_fields_are_a_422_listing_them(
    client: TestClient, path: str, payload: dict[str, object], field: str
) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail", "status", "error"}
    assert body["status"] == 422 and body["error"] == "Unprocessable Entity"
    assert isinstance(body["detail"], list) and body["detail"]
    assert all({"loc", "msg", "type"} <= set(item) for item in body["detail"])
    assert any(item["loc"][-1] == field for item in body["detail"]), body["detail"]


def test_the_422_of_a_custom_validator_names_the_reason(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "   "})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert "non-space" in item["msg"]
    assert isinstance(item["ctx"]["error"], str)  # an exception object, made JSON


def test_malformed_json_is_a_422_in_the_same_shape(client: TestClient) -> None:
    response = client.post(
        "/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422 and body["detail"][0]["type"] == "json_invalid"


def test_the_app_is_wired_with_the_settings(tmp_path: Path) -> None:
    settings = Settings.of(
        index_dir=tmp_path, max_body_bytes=2048, upload_max_bytes=10_000, request_timeout_s=7.5
    )
    app = create_app(settings, embedder=HashingEmbedder())
    options: dict[Any, Any] = {m.cls: m.kwargs for m in app.user_middleware}
    assert options[BodySizeLimit] == {"max_bytes": 2048, "path_limits": {"/articles": 10_000}}
    assert options[RequestTimeout] == {
        "timeout_s": 7.5,
        "exempt": [("POST", "/articles"), ("DELETE", "/articles/")],
    }
    # The timeout is the outer one: reading a slow body counts against it.
    order: list[Any] = [m.cls for m in app.user_middleware]  # outermost first
    assert order.index(RequestTimeout) < order.index(BodySizeLimit)


# The documentation of the real app


EXPECTED_STATUSES = {
    ("get", "/health"): {"200", "500", "503"},
    ("post", "/search"): {"200", "400", "413", "422", "500", "503"},
    ("post", "/ask"): {"200", "400", "413", "422", "500", "503"},
    ("post", "/ask/stream"): {"200", "400", "413", "422", "500", "503"},
    ("get", "/articles/{article_id}"): {"200", "404", "422", "500", "503"},
}


def test_openapi_documents_every_status_with_the_error_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for (method, path), statuses in EXPECTED_STATUSES.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) >= statuses, (method, path, sorted(responses))
        for status in statuses - {"200"}:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            model = "ValidationErrorResponse" if status == "422" else "ErrorResponse"
            assert ref == f"#/components/schemas/{model}", (method, path, status)
    models = schema["components"]["schemas"]
    assert set(models["ErrorResponse"]["required"]) == {"detail", "status", "error"}
    assert set(models["ValidationErrorResponse"]["required"]) == {"detail", "status", "error"}


# Error bodies and limits, on a tiny app


def test_an_unexpected_exception_is_a_generic_500_and_logged(
    tiny: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="service.errors"):
        response = tiny.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "detail": INTERNAL_ERROR_DETAIL,
        "status": 500,
        "error": "Internal Server Error",
    }
    assert "secret internals" not in response.text
    (record,) = [r for r in caplog.records if r.name == "service.errors"]
    assert "/boom" in record.getMessage() and record.exc_info is not None


def test_http_exception_headers_are_kept(tiny: TestClient) -> None:
    response = tiny.get("/private")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "missing bearer token",
        "status": 401,
        "error": "Unauthorized",
    }


def test_a_405_lists_the_methods_of_every_route_of_the_path(tiny: TestClient) -> None:
    response = tiny.put("/items/7")  # Starlette alone would list only the first route's GET
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, DELETE"
    assert_error_shape(response.json(), 405, "Method Not Allowed")
    assert tiny.delete("/items/7").json() == {"id": "7"}


def test_the_upload_path_has_its_own_limit(tiny: TestClient) -> None:
    between = b"x" * (MAX_BODY + 100)  # over the default limit, under the upload limit
    assert tiny.post("/echo", content=between).status_code == 413
    accepted = tiny.post("/articles", content=between)
    assert accepted.status_code == 200 and accepted.json() == {"bytes": len(between)}
    too_big = tiny.post("/articles", content=b"x" * (UPLOAD_MAX + 1))
    assert too_big.status_code == 413 and str(UPLOAD_MAX) in too_big.json()["detail"]
    chunked_too_big = tiny.post("/articles", content=chunked(2 * UPLOAD_MAX))
    assert chunked_too_big.status_code == 413
    assert_error_shape(chunked_too_big.json(), 413, "Request Entity Too Large")
    # Exact paths only: a path under /articles keeps the default limit.
    assert tiny.post("/articles/x", content=between).status_code == 413


def test_a_body_exactly_at_the_limit_is_accepted(tiny: TestClient) -> None:
    def pieces(total: int) -> Iterator[bytes]:
        for _ in range(total // 512):
            yield b"x" * 512

    assert tiny.post("/echo", content=b"x" * MAX_BODY).json() == {"bytes": MAX_BODY}
    assert tiny.post("/echo", content=pieces(MAX_BODY)).json() == {"bytes": MAX_BODY}
    assert tiny.post("/echo", content=pieces(MAX_BODY + 512)).status_code == 413


def test_a_slow_request_gets_a_503_on_time(tiny: TestClient) -> None:
    app = tiny.app
    assert isinstance(app, FastAPI)
    response = tiny.get("/slow")
    assert response.status_code == 503
    body = response.json()
    assert_error_shape(body, 503, "Service Unavailable")
    assert f"{TIMEOUT_S:g} s" in body["detail"]
    # The endpoint sleeps 10 s: the 503 came at the timeout because it was cancelled.
    assert app.state.slow_cancelled.is_set()
    assert tiny.get("/quick").json() == {"ok": True}


def test_a_slow_sync_endpoint_gets_its_503_before_its_thread_ends(tiny: TestClient) -> None:
    app = tiny.app
    assert isinstance(app, FastAPI)
    response = tiny.get("/slow-sync")
    assert response.status_code == 503
    assert not app.state.sync_done.is_set()  # the thread cannot be cancelled: still running
    assert app.state.sync_done.wait(5)
    assert tiny.get("/quick").status_code == 200


def test_a_started_stream_is_not_cut(tiny: TestClient) -> None:
    response = tiny.get("/stream")
    assert response.status_code == 200
    assert response.text == "first second"


def test_the_middlewares_refuse_bad_limits() -> None:
    with pytest.raises(ValueError, match="timeout_s must be a positive number of seconds, got 0"):
        RequestTimeout(FastAPI(), timeout_s=0)
    with pytest.raises(ValueError, match="'/articles': 0"):
        BodySizeLimit(FastAPI(), max_bytes=10, path_limits={"/articles": 0})


def test_a_damaged_index_file_met_by_a_request_is_a_503_without_the_path(
    tiny: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="service.errors"):
        response = tiny.get("/damaged")
    assert response.status_code == 503 and response.headers["retry-after"] == "60"
    assert_error_shape(response.json(), 503, "Service Unavailable")
    assert response.json()["detail"] == DAMAGED_DETAIL and "/srv" not in response.text
    assert any("store.sqlite" in r.getMessage() for r in caplog.records)
