"""The web page's browser flows in Debian's chromium against a real uvicorn process over an index
built with the real model (slow); the in-process page tests are in test_web_pages.py.

Screenshots of each view go to ``test-output/web/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cited.config import Settings
from indexer.build import build_index
from indexer.embedders.base import Embedder
from service.app import create_app
from service.errors import error_body
from service.routers.stream import sse
from tests.conftest import SEED, SEED_QUESTION
from tests.web_support import (
    BROKEN_STREAM,
    CHROMIUM,
    CHROMIUM_ARGS,
    CHUNKED_AND_HELD,
    EXTRA_ARTICLES,
    QUESTION_LABEL,
    SCREENSHOTS,
    Shot,
    ask,
    no_horizontal_scroll,
    serve_app,
    write_extra_corpus,
)

SANCTIONS_SENTENCE = (
    "China has told the US there is little chance of a meeting between the countries' defence "
    "ministers at a security forum in Singapore due to a dispute over sanctions"
)
LATE_SENTENCE = (
    "The US is also trying to arrange the first call between Biden and Xi since the spy "
    "balloon incident."
)
UNANSWERABLE = "How many goals did Lionel Messi score at the 2022 World Cup?"
ABSTENTION = "The articles don't answer this question"
SHORT_QUESTION = "When did Li become defence minister?"


# ------------------------------------------------------------------ rendering, no browser


# ------------------------------------------------------------------ browser flows


@pytest.fixture(scope="module")
def web_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """The seed article and four short JSONL articles (2016..2022, with sources)."""
    folder = tmp_path_factory.mktemp("web")
    extra = write_extra_corpus(folder / "news.jsonl")
    report = build_index([SEED, extra], folder / "index", real_embedder, progress=False)
    assert report.articles == 1 + len(EXTRA_ARTICLES) and not report.skipped
    return folder / "index"


@pytest.fixture(scope="module")
def base_url(web_index: Path, real_embedder: Embedder) -> Iterator[str]:
    """The app as `cited serve` builds it over ``web_index``, with the session's model, served
    by uvicorn in a thread (no second process loading the model again)."""
    with serve_app(create_app(Settings.of(index_dir=web_index), embedder=real_embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium) "
            "before the browser tests",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 375, "height": 800}, base_url=base_url, has_touch=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot() -> Shot:
    """``shot(page, name)`` saves ``test-output/web/{name}.png`` (the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Any, name: str, full_page: bool = True) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return save


@pytest.mark.slow
def test_answer_cites_a_sentence_and_links_to_it(page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    ask(page, SEED_QUESTION)
    expect(page.locator(".answer-text")).to_contain_text("sanctions")
    card = page.locator(".citation").first
    expect(card).to_contain_text(SANCTIONS_SENTENCE)
    marker = page.locator(".answer-text a.marker").first
    expect(marker).to_have_text("[1]")
    href = card.locator("p.title a").get_attribute("href")
    assert marker.get_attribute("href") == href
    assert card.locator("blockquote a").get_attribute("href") == href
    quote = card.locator("blockquote").inner_text().strip("“”")
    expect(page.locator(".timings")).to_contain_text("retrieval")
    shot(page, "ask-answer")

    card.locator("p.title a").click()
    page.wait_for_url("**/read/**")
    mark = page.locator("mark#cited")
    expect(mark).to_have_text(quote)
    expect(mark).to_contain_text(SANCTIONS_SENTENCE)
    expect(mark).to_be_in_viewport()
    expect(page.get_by_role("heading", level=1)).to_contain_text("China pours cold water")
    shot(page, "article-view", full_page=False)

    page.go_back()  # the question is kept in the address and asked again
    expect(page.get_by_label(QUESTION_LABEL)).to_have_value(SEED_QUESTION)
    expect(page.locator(".answer-text")).to_contain_text("sanctions")


@pytest.mark.slow
def test_short_answer_is_bold_and_marked_in_the_article(page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    ask(page, SHORT_QUESTION)
    expect(page.locator(".short-answer-line")).to_have_text("Short answer: March")
    expect(page.locator(".answer-text strong.short-answer")).to_have_text("March")
    shot(page, "ask-short-answer")
    href = page.locator(".answer-text a.marker").first.get_attribute("href") or ""
    assert "sa_start=" in href and "sa_end=" in href
    page.locator(".answer-text a.marker").first.click()
    page.wait_for_url("**/read/**")
    expect(page.locator("mark#cited mark.short")).to_have_text("March")


@pytest.mark.slow
def test_the_answer_streams_from_ask_stream_then_shows_the_verified_answer(
    page: Any, shot: Shot
) -> None:
    from playwright.sync_api import expect

    asked: list[tuple[str, str]] = []
    page.on("request", lambda r: asked.append((r.method, httpx.URL(r.url).path)))
    page.add_init_script(CHUNKED_AND_HELD)
    ask(page, SHORT_QUESTION)
    draft = page.locator("#ask-result .answer-text.draft")
    expect(draft).to_contain_text("March")  # the streamed text, before the answer event
    expect(page.locator("#ask-status")).to_contain_text("Writing the answer")
    expect(page.locator("#ask-form")).to_have_attribute("aria-busy", "true")
    expect(page.locator(".citation")).to_have_count(0)
    shot(page, "ask-streaming")

    page.evaluate("window.releaseAnswer()")
    expect(page.locator(".short-answer-line")).to_have_text("Short answer: March")
    expect(draft).to_have_count(0)
    expect(page.locator(".answer-text strong.short-answer")).to_have_text("March")
    marker = page.locator(".answer-text a.marker").first
    expect(marker).to_have_text("[1]")
    card = page.locator(".citation").first
    expect(card.locator(".n")).to_have_text("[1]")
    assert marker.get_attribute("href") == card.locator("p.title a").get_attribute("href")
    assert "sa_start=" in (marker.get_attribute("href") or "")
    expect(page.locator(".timings")).to_contain_text("retrieval")
    expect(page.locator("#ask-form")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#ask-status")).to_have_text("")
    assert [call for call in asked if call[1].startswith("/ask")] == [("POST", "/ask/stream")]


@pytest.mark.slow
def test_the_verified_answer_replaces_the_streamed_draft(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    verified = httpx.post(f"{base_url}/ask", json={"question": SEED_QUESTION}, timeout=60).json()
    dropped = "A generated sentence that the passages do not back."
    body = sse("token", dropped) + sse("answer", json.dumps(verified)) + sse("done", "{}")
    served: list[str] = []

    def stream(route: Any) -> None:
        served.append(route.request.url)
        route.fulfill(content_type="text/event-stream", body=body)

    page.route("**/ask/stream", stream)
    ask(page, SEED_QUESTION)
    expect(page.locator(".citation").first).to_contain_text(SANCTIONS_SENTENCE)
    expect(page.locator(".answer-text")).to_have_text(verified["answer"])
    expect(page.locator("#ask-result")).not_to_contain_text(dropped)
    assert len(served) == 1


@pytest.mark.slow
def test_unanswerable_question_abstains_and_shows_closest_passages(page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    ask(page, UNANSWERABLE)
    expect(page.locator(".abstain")).to_contain_text(ABSTENTION)
    expect(page.locator(".abstain .reason")).not_to_be_empty()
    expect(page.locator(".answer-text")).to_have_count(0)
    passages = page.locator("#ask-result .passage")
    expect(passages.first).to_be_visible()
    assert "/read/" in (passages.first.locator("a").get_attribute("href") or "")
    more = passages.first.locator("button.more")
    expect(more).to_have_text("Show the whole passage")
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(more).to_have_text("Show less")
    shot(page, "ask-abstention")


@pytest.mark.slow
def test_empty_question_and_api_errors_show_an_alert(page: Any) -> None:
    from playwright.sync_api import expect

    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/ask" in r.url else None)
    ask(page, "   ")
    alert = page.locator("#ask-error[role=alert]")
    expect(alert).to_contain_text("Please type a question")
    assert calls == []  # refused in the page, no API call

    def answer_with(*args: Any, **kwargs: Any) -> None:
        page.unroute("**/ask/stream")
        page.route("**/ask/stream", lambda route: route.fulfill(*args, **kwargs))

    button = page.get_by_role("button", name="Ask")
    answer_with(status=503, json={"detail": "index busy"})  # before the stream starts
    page.get_by_label(QUESTION_LABEL).fill("Any question?")
    button.click()
    expect(alert).to_contain_text("HTTP 503")
    expect(alert).to_contain_text("index busy")

    page.unroute("**/ask/stream")
    page.route("**/ask/stream", lambda route: route.abort("connectionrefused"))
    button.click()
    expect(alert).to_contain_text("Could not reach the cited server")
    expect(button).to_be_enabled()

    failed = error_body(500, "the answer could not be completed")
    stream = sse("token", "Half an answer") + sse("error", json.dumps(failed)) + sse("done", "{}")
    answer_with(content_type="text/event-stream", body=stream)  # an error event in the stream
    button.click()
    expect(alert).to_contain_text("HTTP 500")
    expect(alert).to_contain_text("the answer could not be completed")
    expect(page.locator("#ask-result")).to_be_empty()

    answer_with(content_type="text/event-stream", body=sse("token", "Half") + sse("done", "{}"))
    button.click()
    expect(alert).to_contain_text("ended the answer stream without an answer")

    page.evaluate(BROKEN_STREAM)  # the connection breaks in the middle of the stream
    button.click()
    expect(alert).to_contain_text("connection to the cited server was lost")
    expect(page.locator("#ask-result")).to_be_empty()
    expect(button).to_be_enabled()


@pytest.mark.slow
def test_search_lists_passages_and_a_date_range_narrows_them(page: Any, shot: Shot) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(json.loads(r.post_data or "{}")) if r.url.endswith("/search") else None
        ),
    )
    query = page.get_by_label("Search for")
    query.fill("prices, energy and public services")
    query.press("Enter")
    results = page.locator("#search-result .passage")
    expect(results.first).to_be_visible()
    assert sent[-1] == {"query": "prices, energy and public services", "k": 10}  # no empty filters
    titles = set(results.locator("p.title a").all_inner_texts())
    assert len(titles) >= 3, titles
    expect(results.first.locator(".score")).to_contain_text("score ")
    shot(page, "search")

    page.get_by_text("Filters and retrieval mode").click()
    page.get_by_label("Published from").fill("2021-01-01")
    page.get_by_label("Published to").fill("2021-12-31")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-form")).to_have_attribute("aria-busy", "false")
    museum = next(
        a for a in EXTRA_ARTICLES if a["_id"] == "museum reopens (2021) & more: v1 @guardian"
    )
    expect(results.first).to_be_visible()
    assert set(results.locator("p.title a").all_inner_texts()) == {museum["title"]}
    assert sent[-1]["published_from"] == "2021-01-01" and sent[-1]["published_to"] == "2021-12-31"
    assert "source" not in sent[-1] and "mode" not in sent[-1]
    expect(results.first.locator(".date")).to_have_text("2021-09-04")
    expect(results.first.locator(".source")).to_have_text("The Guardian")
    shot(page, "search-filtered")

    # Its id holds spaces, '&', ':', '@' and brackets: the link encodes it and the view opens.
    with page.expect_navigation() as navigation:
        results.first.locator("p.title a").click()
    assert navigation.value.status == 200
    assert "/read/museum%20reopens%20(2021)%20%26%20more%3A%20v1%20%40guardian?" in page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(museum["title"])
    expect(page.locator("mark#cited")).to_be_visible()


@pytest.mark.slow
def test_as_of_replays_what_the_archive_knew_then(page: Any, shot: Shot) -> None:
    """Search and ask "as of" a past day: nothing later is listed or cited, the page says which
    time it used, and every passage and citation shows its article's date."""
    from playwright.sync_api import expect

    page.goto("/")
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(json.loads(r.post_data or "{}"))
            if r.url.endswith(("/search", "/ask/stream"))
            else None
        ),
    )
    query = page.get_by_label("Search for")
    query.fill("prices, energy and public services")
    page.get_by_text("Filters and retrieval mode").click()
    page.locator("#as_of").fill("2020-01-01")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#search-result .passage")
    expect(results.first).to_be_visible()
    assert sent[-1]["as_of"] == "2020-01-01"
    dates = results.locator(".date").all_inner_texts()
    assert dates and all(d <= "2020-01-01" for d in dates), dates
    expect(page.locator("#search-result .time-applied")).to_contain_text("As of 2020-01-01")

    question = "Which solar farm began supplying the grid?"
    page.get_by_label(QUESTION_LABEL).fill(question)
    page.locator("#ask-as-of").fill("2019-12-31")
    page.get_by_role("button", name="Ask").click()
    card = page.locator(".citation").first
    expect(card).to_be_visible()
    assert sent[-1] == {"question": question, "as_of": "2019-12-31"}
    cited = page.locator(".citation .date").all_inner_texts()
    assert cited and all(d <= "2019-12-31" for d in cited), cited
    expect(page.locator("#ask-result .time-applied")).to_contain_text("As of 2019-12-31")
    assert "asof=2019-12-31" in page.url
    shot(page, "ask-as-of")


@pytest.mark.slow
def test_phone_width_has_no_horizontal_scroll(phone: Any, base_url: str, shot: Shot) -> None:
    from playwright.sync_api import expect

    ask(phone, SEED_QUESTION)
    expect(phone.locator(".answer-text")).to_contain_text("sanctions")
    query = phone.get_by_label("Search for")
    query.fill("sanctions on Li Shangfu")
    query.press("Enter")
    expect(phone.locator("#search-result .passage").first).to_be_visible()
    no_horizontal_scroll(phone)
    shot(phone, "phone")

    text = httpx.get(f"{base_url}/articles/{SEED.stem}").json()["text"]
    start = text.index(LATE_SENTENCE)
    phone.goto(f"/read/{SEED.stem}?start={start}&end={start + len(LATE_SENTENCE)}")
    mark = phone.locator("mark#cited")
    expect(mark).to_have_text(LATE_SENTENCE)
    expect(mark).to_be_in_viewport()
    no_horizontal_scroll(phone)
    shot(phone, "phone-article", full_page=False)
