"""Request bodies that are JSON to Python's parser but not valid requests: NaN and infinities,
lone surrogates, deep nesting, huge integers, bytes that are not UTF-8. Each gets a 422 that
names the field or the reason, in a body that is strict JSON; never a 500, never a dropped
connection."""

from __future__ import annotations

import http.client
import json
import math
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from fastapi.testclient import TestClient

from cited.config import Settings
from service.app import create_app
from service.errors import ECHO_DEPTH, error_body, json_safe
from service.json_bodies import problems
from tests.api_support import build_small_index
from tests.fakes import HashingEmbedder
from tests.web_support import serve_app

TOKEN = "bodies-token"
JSON = {"content-type": "application/json"}
ADMIN = {**JSON, "authorization": f"Bearer {TOKEN}"}
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]
#: Every field of each route's body, with a valid body to put a bad value in.
FIELDS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "/search": (
        {"query": "rates"},
        ["query", "k", "mode", "published_from", "published_to", "source", "author", "as_of"],
    ),
    "/ask": ({"question": "why rates?"}, ["question", "k", "mode", "source", "as_of"]),
    "/ask/stream": ({"question": "why rates?"}, ["question", "k", "published_to", "author"]),
    "/articles": (
        {"title": "Rates", "text": "The bank held rates."},
        ["id", "title", "text", "url", "published", "authors", "section", "source", "standfirst"],
    ),
}
CASES = [(path, field) for path, (_, fields) in FIELDS.items() for field in fields]


class Response(Protocol):
    """What these tests read of a response (TestClient's and httpx's alike)."""

    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...


def strict_json(response: Response) -> Any:
    """The body as strict JSON: UTF-8 without surrogates, no NaN or Infinity."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the response body: {response.text[:300]}")

    return json.loads(response.content.decode("utf-8"), parse_constant=refuse)


def assert_422(response: Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text[:500]
    body = strict_json(response)
    assert set(body) == {"detail", "status", "error"} and body["status"] == 422
    assert body["detail"] and all({"loc", "msg", "type"} <= set(item) for item in body["detail"])
    detail: list[dict[str, Any]] = body["detail"]
    return detail


def raw(payload: dict[str, Any], field: str, token: str) -> bytes:
    """``payload`` as JSON with ``field`` set to the raw JSON text ``token``."""
    marker = "@@bad-value@@"
    return json.dumps({**payload, field: marker}).replace(f'"{marker}"', token).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    embedder = HashingEmbedder()
    index_dir = build_small_index(tmp_path_factory.mktemp("bodies"), embedder)
    settings = Settings.of(
        index_dir=index_dir, reload_interval_s=0, admin_token=TOKEN, abstain_threshold=0.2
    )
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.mark.parametrize(("path", "field"), CASES, ids=[f"{p} {f}" for p, f in CASES])
def test_non_finite_numbers_in_any_field_are_a_422_naming_it(
    client: TestClient, path: str, field: str
) -> None:
    payload, _ = FIELDS[path]
    for token in NON_FINITE:
        response = client.post(path, content=raw(payload, field, token), headers=ADMIN)
        detail = assert_422(response)
        assert any(item["loc"][-1] == field for item in detail), (token, detail)
        echoed = [item.get("input") for item in detail if item["loc"][-1] == field]
        assert all(value in (None, "NaN", "Infinity", "-Infinity") for value in echoed), echoed


@pytest.mark.parametrize("path", ["/search", "/ask", "/ask/stream"])
def test_a_lone_surrogate_is_not_valid_unicode_text_at_the_field(
    client: TestClient, path: str
) -> None:
    field = "query" if path == "/search" else "question"
    body = f'{{"{field}": "volcano \\ud800 eruption"}}'.encode()
    (item,) = assert_422(client.post(path, content=body, headers=JSON))
    assert item["loc"] == ["body", field]
    assert item["msg"].startswith("not valid Unicode text: a lone surrogate \\ud800 at character 8")
    assert item["input"] == "volcano \\ud800 eruption"  # escaped, never a raw surrogate


def test_surrogates_in_keys_and_filters_are_refused_too(client: TestClient) -> None:
    body = b'{"query": "rates", "source": "\\udc80", "\\ud800": 1}'
    (item,) = assert_422(client.post("/search", content=body, headers=JSON))
    assert item["loc"] == ["body", "source"] and "\\udc80" in item["msg"]
    upload = b'{"title": "Rates", "text": "The bank \\udfff held rates."}'
    detail = assert_422(client.post("/articles", content=upload, headers=ADMIN))
    assert any(d["loc"][-1] == "text" and "not valid Unicode" in d["msg"] for d in detail)


@pytest.mark.parametrize("path", ["/search", "/ask", "/ask/stream", "/articles"])
def test_deep_nesting_is_a_422_with_the_limit(client: TestClient, path: str) -> None:
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"query": ' + b"[" * 10_000 + b"]" * 10_000):
        (item,) = assert_422(client.post(path, content=body, headers=ADMIN))
        assert item["type"] == "json_invalid" and item["loc"] == ["body"]
        assert "nested deeper than 32 levels" in item["msg"], item


def test_nesting_up_to_the_limit_is_parsed_and_refused_by_field(client: TestClient) -> None:
    nested = "[" * 31 + "]" * 31  # 32 levels with the body's own object
    (item,) = assert_422(client.post("/search", content=raw({}, "query", nested), headers=JSON))
    assert item["loc"] == ["body", "query"] and item["type"] == "string_type"
    echo = json.dumps(item["input"])  # the echo is cut short, not the reply
    assert '"..."' in echo and echo.count("[") < ECHO_DEPTH
    deeper = "[" * 32 + "]" * 32
    (item,) = assert_422(client.post("/search", content=raw({}, "query", deeper), headers=JSON))
    assert item["type"] == "json_invalid" and "at least 33" in item["msg"]


@pytest.mark.parametrize("path", ["/search", "/ask", "/articles"])
def test_huge_integers_and_non_utf8_bodies_are_a_422_with_the_reason(
    client: TestClient, path: str
) -> None:
    payload, fields = FIELDS[path]
    (item,) = assert_422(client.post(path, content=raw(payload, "k", "9" * 5000), headers=ADMIN))
    assert item["msg"] == "a number with 5000 digits: numbers may have at most 4300"
    body = raw(payload, fields[0], '"caf\xe9"').replace(b"\xc3\xa9", b"\xe9")  # latin-1 é
    (item,) = assert_422(client.post(path, content=body, headers=ADMIN))
    assert item["msg"].startswith("the body is not UTF-8 text: byte 0xe9 at position")
    surrogate = raw(payload, fields[0], '"x"').replace(b'"x"', b'"\xed\xa0\x80"')
    (item,) = assert_422(client.post(path, content=surrogate, headers=ADMIN))
    assert "not UTF-8" in item["msg"]  # a surrogate encoded in the bytes themselves


def test_strings_that_look_nested_are_not_counted() -> None:
    text = '{"query": "[[[[{{{{ \\" [[[[ \\\\", "k": 1, "source": "]]]]"}'
    assert json.loads(text)["query"].startswith("[[[[")
    assert problems(("[" * 32 + text + "]" * 32).encode(), 33) == []
    assert problems(("[" * 33 + text + "]" * 33).encode(), 33)
    assert problems(b'{"q": "' + b"9" * 6000 + b'"}', 32) == []  # digits in a string are text


def test_error_bodies_are_strict_json_whatever_they_hold() -> None:
    nested: Any = 1
    for _ in range(500):
        nested = [nested]
    detail = {
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        "\ud800key": "lone \udfff surrogate",
        "big": 10**5000,
        "bytes": b"\xff\xfe",
        "error": ValueError("bad \ud801"),
        "nested": nested,
    }
    safe = json_safe(detail)
    text = json.dumps(error_body(422, detail), allow_nan=False, ensure_ascii=False)
    assert text.encode("utf-8")  # no surrogate left
    assert safe["nan"] == "NaN" and safe["inf"] == ["Infinity", "-Infinity"]
    assert safe["\\ud800key"] == "lone \\udfff surrogate"
    assert safe["big"] == "an integer of about 5000 digits"
    assert safe["error"] == "bad \\ud801"
    assert json.dumps(safe["nested"]).count("[") == ECHO_DEPTH - 1  # cut at ECHO_DEPTH


def test_the_connection_stays_open_after_a_refused_body(tmp_path: Any) -> None:
    """Over real uvicorn: each bad body answers 422 on the same kept-alive connection."""
    embedder = HashingEmbedder()
    index_dir = build_small_index(tmp_path, embedder)
    app = create_app(Settings.of(index_dir=index_dir, reload_interval_s=0), embedder=embedder)
    with serve_app(app) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        bodies = [b'{"query": "x", "k": NaN}', b'{"question": "volcano \\ud800"}', b"[" * 5000]
        for path, body in zip(["/search", "/ask", "/ask/stream"], bodies, strict=True):
            connection.request("POST", path, body=body, headers=JSON)
            response = connection.getresponse()
            assert response.status == 422 and json.loads(response.read())["status"] == 422
            assert response.getheader("connection") != "close"
        connection.request("POST", "/search", body=b'{"query": "rates", "k": 1}', headers=JSON)
        assert connection.getresponse().status == 200  # the same connection, still open
        connection.close()
