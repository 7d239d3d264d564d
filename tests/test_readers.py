"""Tests of the corpus readers: text/Markdown, HTML (trafilatura), BEIR JSONL and read_corpus."""

from __future__ import annotations

import json
import os
from itertools import islice
from pathlib import Path

import pytest

from indexer.readers import (
    HtmlArticleReader,
    JsonlArticleReader,
    TextArticleReader,
    read_corpus,
    reader_for,
)
from indexer.readers.text import parse_byline
from indexer.types import Article, Skipped

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "corpus" / "us-china-defence-ministers-meeting.txt"
#: The read-only evaluation data; a relative CITED_DATA_DIR is taken from the repository root.
DATA_DIR = REPO / os.environ.get("CITED_DATA_DIR", "../shared/data")

PARAGRAPHS = [
    "The harbour authority on Tuesday approved a plan to double the capacity of the city's "
    "container terminal, ending a two-year dispute with residents who had warned of traffic, "
    "noise and damage to the wetlands north of the port.",
    "Under the plan, the terminal will add four deep-water berths and a new rail link by 2027, "
    "at a cost the authority put at about 1.2 billion euros, most of it financed by a "
    "consortium of shipping lines that already use the port.",
    '"This is the most important investment in the port for a generation," said the '
    "authority's chair, adding that the project would create several hundred permanent jobs "
    "in the region and take thousands of lorries off the roads each week.",
]

HTML_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Harbour authority approves expansion of container terminal</title>
<meta name="author" content="Jane Doe; John Smith">
<meta property="article:published_time" content="2023-04-05T10:00:00Z">
<meta property="og:site_name" content="Coastal Times">
<meta property="og:url" content="https://coastal.example/news/harbour-expansion">
</head><body>
<nav><a href="/">Home</a> <a href="/business">Business</a></nav>
<article>
<h1>Harbour authority approves expansion of container terminal</h1>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}
</article>
<footer>Copyright 2023 Coastal Times</footer>
</body></html>
"""

VARIANT = """\
Harbour expansion approved after two-year fight

The plan doubles the terminal's capacity and adds a rail link

By Jane Doe, John Smith and Ana de la Cruz in Rotterdam 2 DAYS AGO

The harbour authority approved the [expansion](https://example.com/a) on Tuesday, it said in a
statement.

Residents had [warned of traffic
and noise](#) for two years, and said the

authority had ignored them.

Photograph of the terminal © Jan Smit/Coastal Times

Follow [Jane Doe](#) on Twitter
"""


def _read(
    reader: TextArticleReader | HtmlArticleReader | JsonlArticleReader, path: Path
) -> list[Article | Skipped]:
    return list(reader.read(path, path.parent))


def _only_article(items: list[Article | Skipped]) -> Article:
    assert len(items) == 1 and isinstance(items[0], Article), items
    return items[0]


def test_seed_text_article() -> None:
    article = _only_article(_read(TextArticleReader(), SEED))
    assert article.id == "us-china-defence-ministers-meeting"
    assert article.path == "us-china-defence-ministers-meeting.txt"
    assert article.title == "China pours cold water on bilateral meeting with US defence secretary"
    assert article.section == "US-China relations"
    assert article.standfirst == (
        "Stand-off is latest obstacle to top-level dialogue between Washington and Beijing"
    )
    assert article.authors == ("Demetri Sevastopulo",)
    assert article.dateline == "Washington"
    assert article.published is None
    assert article.source is None
    assert article.extra["published_relative"] == "5 hours ago"
    assert article.extra["additional_reporting"] == "Joseph Leahy in Beijing"
    text = article.text
    assert text.startswith("China has told the US there is little chance")
    assert "said south-east Asian nations were increasingly uneasy" in text
    assert "agreed that the countries needed to stabilise relations when they met" in text
    assert "“shocked”" in text  # the original curly quotes are kept
    for unwanted in ("](", "©", "5 HOURS AGO", "Follow", "Additional reporting", "Shutterstock"):
        assert unwanted not in text
    assert text.endswith("said Medeiros.")
    assert "\n\n\n" not in text and text == text.strip()


def test_variant_without_section_or_caption(tmp_path: Path) -> None:
    (tmp_path / "world" / "europe").mkdir(parents=True)
    path = tmp_path / "world" / "europe" / "harbour.md"
    path.write_text(VARIANT, encoding="utf-8")
    article = _only_article(list(TextArticleReader().read(path, tmp_path)))
    assert article.id == "world:europe:harbour"
    assert article.path == "world/europe/harbour.md"
    assert article.title == "Harbour expansion approved after two-year fight"
    assert article.section is None
    assert article.standfirst == "The plan doubles the terminal's capacity and adds a rail link"
    assert article.authors == ("Jane Doe", "John Smith", "Ana de la Cruz")
    assert article.dateline == "Rotterdam"
    assert article.extra["published_relative"] == "2 days ago"
    assert article.text == (
        "The harbour authority approved the expansion on Tuesday, it said in a statement.\n\n"
        "Residents had warned of traffic and noise for two years, and said the authority had "
        "ignored them."
    )


def test_text_without_byline_is_title_then_body(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text(
        "# Ports face a long wait\n\nFirst paragraph.\n\nCaption © Someone\n\nSecond one.\n",
        encoding="utf-8",
    )
    article = _only_article(_read(TextArticleReader(), path))
    assert article.title == "Ports face a long wait"
    assert article.authors == () and article.dateline is None
    assert article.text == "First paragraph.\n\nSecond one."


@pytest.mark.parametrize(
    ("line", "authors", "place"),
    [
        ("A Writer and B Writer 3 MINUTES AGO", ("A Writer", "B Writer"), None),
        ("By Kim Lee, Sam Roe and Al Khan in Oslo", ("Kim Lee", "Sam Roe", "Al Khan"), "Oslo"),
    ],
)
def test_byline_forms(line: str, authors: tuple[str, ...], place: str | None) -> None:
    byline = parse_byline(line)
    assert byline is not None
    assert byline.authors == authors
    assert (byline.places[0] if byline.places else None) == place


def test_body_sentence_is_not_a_byline() -> None:
    assert parse_byline("Markets fell sharply 5 hours ago") is None
    assert parse_byline("The latest stalemate in US-China relations") is None


@pytest.mark.parametrize(
    ("content", "reason_part"),
    [
        (b"", "empty"),
        (b"  \n\n \t\n", "empty"),
        (b"Title\xff\xfe\n\nBody.", "UTF-8"),
        (b"Only a headline\n", "no body"),
    ],
)
def test_bad_text_files_are_skipped(tmp_path: Path, content: bytes, reason_part: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    items = _read(TextArticleReader(), path)
    assert len(items) == 1 and isinstance(items[0], Skipped), items
    assert items[0].path == "bad.txt"
    assert reason_part in items[0].reason


def test_html_article(tmp_path: Path) -> None:
    path = tmp_path / "harbour.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    article = _only_article(_read(HtmlArticleReader(), path))
    assert article.id == "harbour"
    assert article.title == "Harbour authority approves expansion of container terminal"
    assert article.text == "\n\n".join(PARAGRAPHS)
    assert article.authors == ("Jane Doe", "John Smith")
    assert article.published == "2023-04-05"
    assert article.url == "https://coastal.example/news/harbour-expansion"
    assert article.source == "Coastal Times"


def test_html_without_text_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "empty.htm"
    path.write_text("<html><head><title>Nothing</title></head><body></body></html>")
    items = _read(HtmlArticleReader(), path)
    assert len(items) == 1 and isinstance(items[0], Skipped), items
    assert items[0].path == "empty.htm"


def _jsonl_lines() -> list[str]:
    """Lines 1 and 7 are good; 2 is blank; 3 to 6 are bad."""
    return [
        '{"_id": "a1", "title": "First", "text": "Alpha text.\\n\\nMore.", "authors": ["Ann Bee"],'
        ' "publish_date": "2022/06/12", "origin": "gold"}',
        "",
        "{not json",
        '{"_id": "a2", "title": "No text"}',
        '["not", "an", "object"]',
        '{"title": "No id", "text": "Orphan."}',
        '{"_id": 7, "title": "Second", "text": "  Beta text, kept as is.  ",'
        ' "authors": "Cy Dee; Eve Fox", "source": "Wire", "url": "https://x.example/b"}',
    ]


def test_jsonl_reads_good_lines_and_skips_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "file.jsonl"
    path.write_text("\n".join(_jsonl_lines()) + "\n", encoding="utf-8")
    items = _read(JsonlArticleReader(), path)
    articles = [i for i in items if isinstance(i, Article)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [a.id for a in articles] == ["a1", "7"]
    first, second = articles
    assert first.text == "Alpha text.\n\nMore."
    assert first.published == "2022-06-12"
    assert first.authors == ("Ann Bee",)
    assert first.extra["origin"] == "gold"
    assert second.text == "  Beta text, kept as is.  "
    assert second.authors == ("Cy Dee", "Eve Fox")
    assert second.source == "Wire" and second.url == "https://x.example/b"
    assert [s.path for s in skipped] == [f"file.jsonl:{n}" for n in (3, 4, 5, 6)]
    assert "invalid JSON" in skipped[0].reason
    assert "no text" in skipped[1].reason
    assert "_id" in skipped[3].reason


def test_read_corpus_mixed_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "web").mkdir(parents=True)
    (corpus / ".hidden").mkdir()
    (corpus / "seed.txt").write_bytes(SEED.read_bytes())
    (corpus / "web" / "harbour.html").write_text(HTML_PAGE, encoding="utf-8")
    (corpus / "records.jsonl").write_text("\n".join(_jsonl_lines()) + "\n", encoding="utf-8")
    (corpus / "report.pdf").write_bytes(b"%PDF-1.4")
    (corpus / ".hidden" / "secret.txt").write_text("Hidden\n\nNot read.")
    (corpus / ".DS_Store").write_bytes(b"\x00")
    # Same ids as files read earlier (sorted order; the suffix is not part of the id).
    (corpus / "web" / "harbour.txt").write_text("Again\n\nSame id, read later.", encoding="utf-8")
    (corpus / "zz.jsonl").write_text(json.dumps({"_id": "a1", "text": "Dup."}), encoding="utf-8")
    items = list(read_corpus([corpus, tmp_path / "missing"]))
    articles = {i.id: i for i in items if isinstance(i, Article)}
    # Skipped inputs are named by their full path (and line), as the user can find them.
    skipped = {
        Path(i.path).relative_to(corpus).as_posix()
        if i.path.startswith(str(corpus))
        else i.path: i.reason.replace(f"{corpus}/", "")
        for i in items
        if isinstance(i, Skipped)
    }
    assert set(articles) == {"seed", "web:harbour", "a1", "7"}
    assert articles["seed"].title.startswith("China pours cold water")
    assert skipped["report.pdf"] == (
        "unsupported file type '.pdf'; supported: .htm, .html, .jsonl, .md, .txt"
    )
    assert skipped["web/harbour.txt"] == (
        "duplicate article id 'web:harbour': first read from web/harbour.html"
    )
    assert skipped["zz.jsonl:1"] == "duplicate article id 'a1': first read from records.jsonl:1"
    assert articles["web:harbour"].path == "web/harbour.html"
    assert str(tmp_path / "missing") in skipped
    assert "records.jsonl:3" in skipped
    assert not any("hidden" in p or "DS_Store" in p for p in skipped)


def test_read_corpus_single_file_and_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "story.txt"
    path.write_text("Headline here\n\nBody text.", encoding="utf-8")
    assert [i.id for i in read_corpus([path]) if isinstance(i, Article)] == ["story"]

    def explode(self: TextArticleReader, path: Path, root: Path) -> list[Article]:
        raise RuntimeError("boom")

    monkeypatch.setattr(TextArticleReader, "read", explode)
    items = list(read_corpus([path]))
    assert len(items) == 1 and isinstance(items[0], Skipped)
    assert items[0].path == str(path) and "boom" in items[0].reason


def test_reader_for_suffixes() -> None:
    assert isinstance(reader_for(Path("a/B.HTML")), HtmlArticleReader)
    assert isinstance(reader_for(Path("x.md")), TextArticleReader)
    assert isinstance(reader_for(Path("x.jsonl")), JsonlArticleReader)
    assert reader_for(Path("x.pdf")) is None


def test_real_news_corpus_first_lines() -> None:
    path = DATA_DIR / "news_2022" / "corpus.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found; set CITED_DATA_DIR to the folder holding news_2022/")
    items = list(islice(JsonlArticleReader().read(path, path.parent), 50))
    assert len(items) == 50
    assert all(isinstance(i, Article) for i in items), [i for i in items if isinstance(i, Skipped)]
    raw = [json.loads(line) for line in islice(path.open(encoding="utf-8"), 50)]
    for article, record in zip(items, raw, strict=True):
        assert isinstance(article, Article)
        assert article.id == record["_id"]
        assert article.text == record["text"]
        assert article.published is None or len(article.published) == 10
