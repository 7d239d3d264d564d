"""Uploads and ids: the token is checked before a body is read, writes are capped in number,
skipped records carry their file and line, and every entry checks the id rule."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Scope

from cited.config import Settings
from indexer.build import build_index
from indexer.ids import ID_RULE, check_article_id, derived_id, id_problem
from indexer.readers import read_corpus
from indexer.types import Skipped
from service.app import create_app
from tests.fakes import HashingEmbedder
from tests.test_admin_api import AUTH, BAKERY, TOKEN, make_client
from tests.test_index_format import write_corpus
from tests.web_support import serve_app

#: How long the real-server test waits for an answer: far more than an answer takes; a server
#: that waits for the body first never answers (the body is never sent).
PATIENCE_S = 20


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path, admin_token=TOKEN, upload_concurrency=1)


def raw_post(client: TestClient, headers: dict[str, str], body: bytes) -> tuple[int, int]:
    """POST /articles straight to the ASGI app, ``body`` in 64 KiB pieces; returns the status
    and how many body bytes the app pulled."""
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    pulled = 0
    status = 0

    async def receive() -> Message:
        nonlocal pulled
        if pieces:
            piece = pieces.pop(0)
            pulled += len(piece)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/articles",
        "raw_path": b"/articles",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (k.lower().encode(), v.encode())
            for k, v in {**headers, "content-length": str(len(body))}.items()
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }

    async def run() -> None:
        await client.app(scope, receive, send)

    portal = client.portal
    assert portal is not None
    portal.call(run)
    return status, pulled


def test_the_token_is_checked_before_the_body_is_read(client: TestClient) -> None:
    body = json.dumps({**BAKERY, "text": "x " * 500_000}).encode()  # 1 MB, under the limit
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        status, pulled = raw_post(client, {**headers, "content-type": "application/json"}, body)
        assert status == 401 and pulled == 0, (headers, status, pulled)
    status, pulled = raw_post(client, {**AUTH, "content-type": "application/json"}, body)
    assert status == 200 and pulled == len(body)


def test_writes_beyond_the_limit_wait_outside_before_their_body_is_read(
    client: TestClient,
) -> None:
    slots = client.app.state.write_slots  # type: ignore[attr-defined]
    assert slots.limit == 1 and slots.take()  # one upload running
    try:
        status, pulled = raw_post(
            client, {**AUTH, "content-type": "application/json"}, json.dumps(BAKERY).encode()
        )
        assert (status, pulled) == (503, 0)
        busy = client.post("/articles", json=BAKERY, headers=AUTH)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert "CITED_UPLOAD_CONCURRENCY" in busy.json()["detail"]
        # An unauthenticated write is refused for its token, never counted as an upload.
        assert client.post("/articles", json=BAKERY).status_code == 401
    finally:
        slots.give_back()
    assert client.post("/articles", json=BAKERY, headers=AUTH).status_code == 200
    assert slots.take()  # the finished upload gave its slot back
    slots.give_back()


def test_an_upload_over_the_limit_is_413_as_it_is_read(tmp_path: Path) -> None:
    for client in make_client(tmp_path, admin_token=TOKEN, upload_max_bytes=4096):
        chunked = iter([b'{"title": "T", "text": "', b"x" * 8192, b'"}'])
        response = client.post(
            "/articles",
            content=chunked,
            headers={**AUTH, "content-type": "application/json"},
        )
        assert response.status_code == 413 and "4096 bytes" in response.json()["detail"]


def test_skipped_records_of_an_upload_carry_their_file_and_line(client: TestClient) -> None:
    lines = [
        json.dumps({"_id": "good-1", "title": "Harbour", "text": "The harbour reopened."}),
        "{not json",
        json.dumps({"_id": "bad/id", "title": "T", "text": "Some text."}),
        json.dumps({"_id": "good-2", "title": "Rail", "text": "The railway reopened."}),
    ]
    response = client.post(
        "/articles",
        files={"file": ("feed.jsonl", "\n".join(lines) + "\n", "application/jsonl")},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["stored"]) == ["good-1", "good-2"]
    skipped = {s["file"]: s["reason"] for s in body["skipped"]}
    assert set(skipped) == {"feed.jsonl:2", "feed.jsonl:3"}
    assert "invalid JSON" in skipped["feed.jsonl:2"]
    assert "holds '/'" in skipped["feed.jsonl:3"] and ID_RULE in skipped["feed.jsonl:3"]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("a/b", "holds '/'"),
        ("../etc", "holds '/'"),
        ("a..b", "holds '..'"),
        (".hidden", "starts with '.'"),
        ("50% off", "holds '%'"),
        ("x" * 201, "is 201 characters long"),
    ],
)
def test_a_bad_id_is_a_422_naming_the_rule_at_every_entry(
    client: TestClient, bad: str, problem: str
) -> None:
    posted = client.post("/articles", json={**BAKERY, "id": bad}, headers=AUTH)
    assert posted.status_code == 422 and problem in json.dumps(posted.json())
    assert "no '/'" in json.dumps(posted.json())
    if "/" in bad:  # a path segment of its own: no route of the API matches it as one id
        return
    for response in (
        client.get(f"/articles/{bad}"),
        client.delete(f"/articles/{bad}", headers=AUTH),
    ):
        assert response.status_code == 422, response.text
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["path", "article_id"] and problem in detail["msg"]
    page = client.get(f"/read/{bad}")
    assert page.status_code == 422 and "Not an article id" in page.text


def test_path_like_ids_never_reach_a_route(client: TestClient) -> None:
    for path in ("/articles/a/b", "/articles/../story-0", "/read/a/b"):
        assert client.get(path).status_code in (404, 422), path


def test_files_with_a_bad_id_are_skipped_with_path_and_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "2023" / "june").mkdir(parents=True)
    (corpus / "2023" / "june" / "Harbour #1.txt").write_text("Harbour\n\nThe harbour reopened.")
    (corpus / "feed.jsonl").write_text(
        json.dumps({"_id": "ok", "title": "T", "text": "Text."})
        + "\n"
        + json.dumps({"_id": "a..b", "title": "T", "text": "Text."})
        + "\n"
    )
    items = list(read_corpus([corpus]))
    ids = sorted(i.id for i in items if not isinstance(i, Skipped))
    assert ids == ["2023:june:Harbour -1", "ok"]  # folders joined with ':', '#' made '-'
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [s.path for s in skipped] == [str(corpus / "feed.jsonl:2")]
    assert "holds '..'" in skipped[0].reason


def test_the_id_rule_by_hand() -> None:
    for good in ("story-1", "d8009e967884f452", "4983", "Café 2023", "a:b@c (1) & 'd'"):
        assert id_problem(good) is None and check_article_id(good) == good
    # Letters with their combining marks: Devanagari's vowel signs, a decomposed accent.
    for good in ("हिन्दी समाचार", "Cafe\u0301", "ภาษาไทย", "日本語-1"):
        assert id_problem(good) is None, good
    assert id_problem("\u0301a") == "holds '\u0301'"  # a mark with nothing to mark
    assert derived_id("Cafe\u0301/menu") == "Café:menu"  # macOS's decomposed names: NFC
    assert derived_id("web/harbour") == "web:harbour"
    assert derived_id("a/../b") == "a:.:b"
    assert derived_id(".env") == "env"
    assert id_problem(derived_id("2023/june/50% off #1?")) is None


@pytest.mark.parametrize("bad", ["story-0\n", "story\n", "story\r", "st\x00ory"])
def test_a_control_character_is_never_part_of_an_id(
    client: TestClient, tmp_path: Path, bad: str
) -> None:
    """A trailing newline once passed the rule (a regex ``$`` matches before it)."""
    assert id_problem(bad) is not None and "holds" in str(id_problem(bad))
    feed = tmp_path / "feed" / "feed.jsonl"
    feed.parent.mkdir()
    feed.write_text(json.dumps({"_id": bad, "title": "T", "text": "Text."}) + "\n")
    [skipped] = list(read_corpus([feed.parent]))
    assert isinstance(skipped, Skipped) and skipped.path == f"{feed}:1"
    assert ID_RULE in skipped.reason
    upload = client.post(
        "/articles",
        files={"file": ("feed.jsonl", feed.read_bytes(), "application/jsonl")},
        headers=AUTH,
    )
    assert upload.status_code == 422 and "feed.jsonl:1" in upload.text
    assert client.post("/articles", json={**BAKERY, "id": bad}, headers=AUTH).status_code == 422


def test_a_trailing_newline_in_a_path_is_not_dropped(client: TestClient) -> None:
    """Starlette's route pattern matched ``/articles/story-0%0A`` as ``story-0``: a GET read
    and a DELETE removed another article than the one named."""
    for response in (
        client.get("/articles/story-0%0A"),
        client.delete("/articles/story-0%0A", headers=AUTH),
    ):
        assert response.status_code == 422, response.text
        assert "holds '\\n'" in response.json()["detail"][0]["msg"]
    page = client.get("/read/story-0%0A")
    assert page.status_code == 422 and "Not an article id" in page.text
    assert client.get("/articles/story-0").status_code == 200  # still there


def first_answer(base: str, head: bytes) -> bytes:
    """Send ``head`` (a request head, no body) to the server at ``base``; its answer's head."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=PATIENCE_S) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(65536)
            assert piece, f"the server closed the connection without an answer: {answer!r}"
            answer += piece
        return answer.split(b"\r\n\r\n")[0]


def test_a_real_server_answers_a_write_before_its_body_arrives(tmp_path: Path) -> None:
    """The probe's case over a real uvicorn: a 19 MB upload declared and never sent gets its 401
    without a token, its 503 when every write slot is taken."""
    embedder = HashingEmbedder()
    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, embedder, progress=False)
    settings = Settings.of(
        index_dir=index_dir, reload_interval_s=0, admin_token=TOKEN, upload_concurrency=1
    )
    app = create_app(settings, embedder=embedder)
    declared = 19 * 1024 * 1024  # under CITED_UPLOAD_MAX_BYTES (20 MB): no 413 from the size
    with serve_app(app) as base:
        for auth in (b"", b"Authorization: Bearer wrong\r\n"):
            head = first_answer(base, upload_head(declared, auth))
            assert head.startswith(b"HTTP/1.1 401 "), head
        slots = app.state.write_slots
        assert slots.take()  # the one write allowed is running
        try:
            token = f"Authorization: Bearer {TOKEN}\r\n".encode()
            head = first_answer(base, upload_head(declared, token))
            assert head.startswith(b"HTTP/1.1 503 ") and b"retry-after: 5" in head.lower(), head
        finally:
            slots.give_back()


def upload_head(length: int, extra: bytes) -> bytes:
    return (
        b"POST /articles HTTP/1.1\r\nHost: cited\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {length}\r\n".encode()
        + extra
        + b"\r\n"
    )
