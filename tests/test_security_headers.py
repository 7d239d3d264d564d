"""Security headers on every response, and the page under its Content-Security-Policy in a real
browser: the flows run without one violation, and inline code injected into the page is
refused."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cited.config import Settings
from indexer.build import build_index
from service.app import create_app
from service.errors import install_error_handlers
from service.security_headers import API_CSP, COMMON, PAGE_CSP, SecurityHeaders
from tests.conftest import SEED
from tests.fakes import HashingEmbedder
from tests.web_support import CHROMIUM, CHROMIUM_ARGS, serve_app, write_extra_corpus

TEMPLATES = Path(__file__).resolve().parent.parent / "service" / "web" / "templates"
MAX_BODY = 4096


def assert_secured(headers: Any, csp: str) -> None:
    for name, value in COMMON.items():
        assert headers.get(name) == value, (name, dict(headers))
    assert headers.get("content-security-policy") == csp, dict(headers)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("secured")
    extra = write_extra_corpus(folder / "news.jsonl")
    build_index([SEED, extra], folder / "index", HashingEmbedder(), progress=False)
    return folder / "index"


def secured_app(index_dir: Path) -> FastAPI:
    settings = Settings.of(
        index_dir=index_dir, reload_interval_s=0, abstain_threshold=0.0, max_body_bytes=MAX_BODY
    )
    return create_app(settings, embedder=HashingEmbedder())


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[TestClient]:
    with TestClient(secured_app(index_dir)) as test_client:
        yield test_client


# ------------------------------------------------------------------ headers, no browser


def test_html_pages_get_the_page_policy(client: TestClient) -> None:
    text = client.get(f"/articles/{SEED.stem}").json()["text"]
    for path, status in [
        ("/", 200),
        (f"/read/{SEED.stem}?start=0&end=20", 200),
        ("/read/no-such-article", 404),
        (f"/read/{SEED.stem}?start=9&end=2", 400),
    ]:
        response = client.get(path)
        assert response.status_code == status and "text/html" in response.headers["content-type"]
        assert_secured(response.headers, PAGE_CSP)
    assert len(text) > 20


def test_api_responses_and_static_files_get_the_api_policy(client: TestClient) -> None:
    responses = [
        client.get("/health"),
        client.post("/search", json={"query": "defence ministers", "k": 2}),
        client.post("/search", json={"query": "x", "k": 0}),  # 422
        client.post("/search", content=b"[" * 100, headers={"content-type": "application/json"}),
        client.post("/ask", json={"question": "q" * MAX_BODY}),  # 413, from a middleware
        client.get("/articles/no-such-article"),  # 404
        client.put("/search"),  # 405
        client.post("/ask/stream", json={"question": "Who met whom?"}),  # server-sent events
        client.get("/static/app.js"),
        client.get("/static/style.css"),
        client.get("/openapi.json"),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 200, 422, 422, 413, 404, 405, 200, 200, 200, 200]
    for response in responses:
        assert_secured(response.headers, API_CSP)


def test_an_unexpected_error_is_secured_too() -> None:
    """Starlette answers a 500 outside every middleware: the handler adds the headers."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internals")

    app.add_middleware(SecurityHeaders)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/boom")
    assert response.status_code == 500
    assert_secured(response.headers, API_CSP)


def test_the_api_docs_allow_their_inline_script_by_hash_only(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
        for script in scripts:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp, (path, csp)
        assert (
            "script-src https://cdn.jsdelivr.net" in csp
            and "'unsafe-inline'" not in (csp.split("script-src")[1].split(";")[0])
        )
        assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY"
        assert int(response.headers["content-length"]) == len(response.content)
    assert "sha256-" in client.get("/docs").headers["content-security-policy"]


def test_the_templates_hold_no_inline_code_or_style() -> None:
    """What the page policy would refuse: inline scripts, style elements and attributes, event
    handler attributes, ``javascript:`` links."""
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE
    )
    for template in sorted(TEMPLATES.glob("*.html")):
        found = inline.findall(template.read_text(encoding="utf-8"))
        assert not found, (template.name, found)


# ------------------------------------------------------------------ the policy in a browser

#: Records every CSP violation the document reports, before any of the page's own scripts run.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push({directive: e.effectiveDirective, blocked: e.blockedURI,
                            sample: e.sample, source: e.sourceFile});
});
"""
#: Inline code injected into the page after it loaded: the policy must refuse each.
INJECT_INLINE = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__inlineRan = true;";
  document.body.append(script);
  const style = document.createElement("style");
  style.textContent = "body { background: red; }";
  document.head.append(style);
  const marked = document.createElement("p");
  marked.setAttribute("style", "color: red");
  marked.setAttribute("onclick", "window.__handlerRan = true");
  marked.id = "injected";
  marked.textContent = "injected";
  document.body.append(marked);
  marked.click();
}"""


@pytest.fixture(scope="module")
def base_url(index_dir: Path) -> Iterator[str]:
    with serve_app(secured_app(index_dir)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page with every CSP violation, CSP console message and page error recorded."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.context = browser.new_context(base_url=base_url)
        self.context.set_default_timeout(20_000)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: Any) -> None:
        text = str(message.text)
        if "Content Security Policy" in text or "Refused to" in text:
            self.console.append(text)

    def violations(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate("window.__violations || []")
        return found


@pytest.fixture
def watched(browser: Any, base_url: str) -> Iterator[Watched]:
    page = Watched(browser, base_url)
    yield page
    page.context.close()


@pytest.mark.slow
def test_the_page_flows_run_under_the_policy_without_a_violation(watched: Watched) -> None:
    from playwright.sync_api import expect

    page = watched.page
    response = page.goto("/")
    assert response is not None and response.headers["content-security-policy"] == PAGE_CSP
    question = page.get_by_label("Your question about the articles")
    question.fill("Why is a meeting between the US and Chinese defence ministers unlikely?")
    question.press("Enter")
    card = page.locator(".citation").first
    expect(card).to_be_visible()
    expect(page.locator(".timings")).to_contain_text("retrieval")

    query = page.get_by_label("Search for")
    query.fill("interest rates inflation")
    page.get_by_text("Filters and retrieval mode").click()
    page.get_by_label("Published from").fill("2016-01-01")
    query.press("Enter")
    passages = page.locator("#search-result .passage")
    expect(passages.first).to_be_visible()
    more = page.locator("#search-result button.more")
    if more.count():
        more.first.click()
        expect(more.first).to_have_attribute("aria-expanded", "true")

    card.locator("p.title a").click()
    page.wait_for_url("**/read/**")
    expect(page.locator("mark#cited")).to_be_visible()
    page.go_back()
    expect(page.locator(".citation").first).to_be_visible()
    page.goto("/read/no-such-article")
    expect(page.locator("[role=alert]")).to_contain_text("no-such-article")
    page.goto("/")

    assert watched.violations() == [] and watched.console == [] and watched.errors == []
    page.evaluate(INJECT_INLINE)
    expect(page.locator("#injected")).to_be_visible()
    page.wait_for_function("window.__violations.length >= 4")
    refused = {v["directive"] for v in watched.violations()}
    assert {"script-src-elem", "style-src-elem", "style-src-attr", "script-src-attr"} <= refused
    assert page.evaluate("[window.__inlineRan, window.__handlerRan]") == [None, None]
    color = page.evaluate("getComputedStyle(document.getElementById('injected')).color")
    assert color != "rgb(255, 0, 0)"
    assert any("Content Security Policy" in text for text in watched.console)


#: Stand-ins for Swagger UI's CDN files: they record that the docs page's inline script ran.
SWAGGER_STUB = """
window.SwaggerUIBundle = function (options) { window.__swaggerStarted = options.url; };
window.SwaggerUIBundle.presets = { apis: {} };
window.SwaggerUIBundle.SwaggerUIStandalonePreset = {};
"""


@pytest.mark.slow
def test_the_api_docs_start_under_their_policy(watched: Watched) -> None:
    page = watched.page

    def cdn(route: Any) -> None:
        if route.request.url.endswith(".js"):
            route.fulfill(content_type="application/javascript", body=SWAGGER_STUB)
        else:
            route.fulfill(content_type="text/css", body="#swagger-ui { margin: 0; }")

    page.route("https://cdn.jsdelivr.net/**", cdn)
    page.route("https://fastapi.tiangolo.com/**", lambda route: route.fulfill(status=204))
    response = page.goto("/docs")
    assert response is not None and "sha256-" in response.headers["content-security-policy"]
    page.wait_for_function("window.__swaggerStarted !== undefined")
    assert page.evaluate("window.__swaggerStarted") == "/openapi.json"
    assert watched.violations() == [] and watched.console == [], json.dumps(watched.violations())
