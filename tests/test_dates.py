"""Article dates: normalisation, relative bylines against a reference only, sidecars, and the
per-chunk dates of an index (with the upgrade path for stores written before them)."""

from __future__ import annotations

import math
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexer.dates import normalize_published, published_timestamp, resolve_relative
from indexer.readers import read_corpus
from indexer.store import Store
from indexer.types import Article, Skipped

SEED = Path(__file__).resolve().parent.parent / "corpus" / "us-china-defence-ministers-meeting.txt"
SAVED = datetime(2023, 6, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022/06/12", "2022-06-12"),
        ("2022-6-2", "2022-06-02"),
        ("2022-06-12T08:00:00Z", "2022-06-12T08:00:00+00:00"),
        ("2022-06-12T08:00:00", "2022-06-12T08:00:00+00:00"),  # no offset: UTC
        ("2022-06-12T08:00:00-04:00", "2022-06-12T08:00:00-04:00"),
        ("Sun, 12 Jun 2022 08:00:00 GMT", "2022-06-12T08:00:00+00:00"),
        ("June 12, 2022", "2022-06-12"),
        ("2022-13-01", None),
        ("5", None),
        ("yesterday", None),  # relative: never a date without a reference
        ("", None),
        (None, None),
    ],
)
def test_normalize_published(raw: str | None, expected: str | None) -> None:
    assert normalize_published(raw) == expected


def test_timestamps_day_only_is_noon_utc_unknown_is_nan() -> None:
    assert published_timestamp("2022-06-12") == datetime(2022, 6, 12, 12, tzinfo=UTC).timestamp()
    assert published_timestamp("2022-06-12T08:00:00-04:00") == (
        datetime(2022, 6, 12, 12, tzinfo=UTC).timestamp()
    )
    assert math.isnan(published_timestamp(None))
    assert math.isnan(published_timestamp("not a date"))


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("5 hours ago", "2023-06-02T05:00:00+00:00"),
        ("an hour ago", "2023-06-02T09:00:00+00:00"),
        ("yesterday", "2023-06-01"),
        ("3 days ago", "2023-05-30"),
        ("2 weeks ago", "2023-05-19"),
    ],
)
def test_relative_times_resolve_against_the_reference(label: str, expected: str) -> None:
    assert resolve_relative(label, SAVED) == expected


def _read(folder: Path, published_at: datetime | None = None) -> list[Article | Skipped]:
    return list(read_corpus([folder], published_at))


def test_a_relative_byline_without_a_reference_has_no_date(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "story.txt")
    (article,) = _read(tmp_path)
    assert isinstance(article, Article)
    assert article.published is None
    assert article.extra["published_relative"] == "5 hours ago"


def test_published_at_resolves_a_relative_byline(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "story.txt")
    (article,) = _read(tmp_path, SAVED)
    assert isinstance(article, Article)
    assert article.published == "2023-06-02T05:00:00+00:00"
    assert article.extra["published_reference"] == "2023-06-02T10:00:00+00:00"


def test_a_sidecar_reference_wins_and_is_not_read_as_an_article(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "story.txt")
    (tmp_path / "story.txt.meta.json").write_text('{"published_at": "2023-06-03T12:00:00Z"}')
    (article,) = _read(tmp_path, SAVED)
    assert isinstance(article, Article)
    assert article.published == "2023-06-03T07:00:00+00:00"


def test_a_bad_sidecar_is_reported_and_its_article_kept_undated(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "story.txt")
    (tmp_path / "story.txt.meta.json").write_text('{"published_at": "last spring"}')
    items = _read(tmp_path)
    skipped = [i for i in items if isinstance(i, Skipped)]
    articles = [i for i in items if isinstance(i, Article)]
    assert len(skipped) == 1 and skipped[0].path.endswith("story.txt.meta.json")
    assert "'last spring' is not an ISO date" in skipped[0].reason
    assert len(articles) == 1 and articles[0].published is None


def test_a_store_without_per_chunk_dates_reads_them_from_its_articles(
    seed_index: Path, tmp_path: Path
) -> None:
    """The upgrade path: an index written before dates were kept per chunk still serves."""
    (store_file,) = seed_index.glob("versions/*/segments/*/store.sqlite")
    old = tmp_path / "store.sqlite"
    shutil.copy(store_file, old)
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE articles SET published = '2023-06-02'")
        conn.execute("DROP INDEX chunks_published")
        conn.execute("ALTER TABLE chunks DROP COLUMN published_ts")
    ids, times = Store(old).chunk_times()
    assert len(ids) > 0
    assert set(times.tolist()) == {datetime(2023, 6, 2, 12, tzinfo=UTC).timestamp()}
    new_ids, new_times = Store(store_file).chunk_times()
    assert new_ids.tolist() == ids.tolist()
    assert all(math.isnan(t) for t in new_times)  # the seed article's byline is relative
