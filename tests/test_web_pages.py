"""The web page in process: the article view's rendering and offsets, its error pages and the
home page, over a small index with the fake embedder (the browser flows are in test_web.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import Markup

from cited.config import Settings
from indexer.build import build_index
from service.app import create_app
from service.web.highlight import BadSpanError, Span, paragraph_bounds, parse_span
from service.web.highlight import render_paragraphs as render
from tests.fakes import HashingEmbedder


def test_paragraphs_keep_offsets_and_escape_html() -> None:
    text = "  <b>One</b> & two.\n\nThree\nfour.\n \n\n"
    bounds = paragraph_bounds(text)
    assert [text[b.start : b.end] for b in bounds] == ["<b>One</b> & two.", "Three\nfour."]
    assert render(text, None) == [Markup("&lt;b&gt;One&lt;/b&gt; &amp; two."), "Three\nfour."]


def test_a_span_across_paragraphs_is_marked_in_each() -> None:
    text = "First one. Second <one>.\n\nThird one. Fourth."
    start, end = text.index("Second"), text.index(" Fourth")
    html = render(text, Span(start, end), Span(text.index("Third"), text.index(" one. F")))
    assert html == [
        'First one. <mark class="cited" id="cited">Second &lt;one&gt;.</mark>',
        '<mark class="cited"><mark class="short">Third</mark> one.</mark> Fourth.',
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (("5", None), "give both start and end"),
        (("x", "3"), "whole number"),
        (("4", "4"), "not a span"),
        (("0", "99"), "not a span"),
        (("-1", "3"), "not a span"),
        (("0", "5", "1", "9"), "not inside the cited span"),
        ((None, None, "1", "2"), "need start and end"),
    ],
)
def test_bad_offsets_are_refused_with_a_reason(params: tuple[str | None, ...], reason: str) -> None:
    with pytest.raises(BadSpanError, match=reason):
        parse_span(10, *params)


#: An id with characters a URL must encode (space, '&', '@', ':', brackets, quotes).
ODD = quote("odd id & (1) @home: 'x'", safe="")


@pytest.fixture(scope="module")
def fake_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module's page tests (they only read)."""
    tmp_path = tmp_path_factory.mktemp("pages")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {
        "_id": "odd id & (1) @home: 'x'",
        "title": "Title with <script>alert(1)</script>",
        "text": "Para one has a <tag>.\n\nPara two is cited here. And more.",
        "publish_date": "2020-02-03",
        "authors": ["A. Writer"],
        "source": "Wire",
        "url": "javascript:alert(1)",
    }
    (corpus / "a.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    embedder = HashingEmbedder()
    build_index([corpus], tmp_path / "index", embedder, progress=False)
    with TestClient(create_app(Settings.of(index_dir=tmp_path / "index"), embedder=embedder)) as c:
        yield c


def test_article_view_marks_the_span_and_escapes_everything(fake_client: TestClient) -> None:
    text = fake_client.get(f"/articles/{ODD}").json()["text"]
    start = text.index("Para two")
    end = text.index(" And")
    page = fake_client.get(f"/read/{ODD}?start={start}&end={end}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<mark class="cited" id="cited">Para two is cited here.</mark>' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &lt;tag&gt;." in html
    assert "javascript:alert" not in html  # only http(s) source links
    assert "By A. Writer" in html and "2020-02-03" in html and "Wire" in html
    assert '<html lang="en">' in html and "<main" in html


def test_article_view_errors_are_html_pages(fake_client: TestClient) -> None:
    missing = fake_client.get("/read/no-such-article?start=0&end=4")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no article with id “no-such-article”" in missing.text.lower()
    assert 'role="alert"' in missing.text
    bad = fake_client.get(f"/read/{ODD}?start=9&end=2")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
    assert "Bad offsets" in bad.text and "not a span of this article" in bad.text
    assert fake_client.get(f"/read/{ODD}").status_code == 200  # no span: plain view


def test_home_page_and_static_files(fake_client: TestClient) -> None:
    home = fake_client.get("/")
    assert home.status_code == 200
    for needle in ('for="question"', 'for="query"', 'role="alert"', "v000001-"):
        assert needle in home.text
    assert re.search(r"\b1 article\s", home.text)  # the footer's counts, singular
    assert fake_client.get("/static/app.js").status_code == 200
    assert fake_client.get("/static/style.css").status_code == 200
    assert "/read/{article_id}" not in fake_client.get("/openapi.json").text  # not in the API
