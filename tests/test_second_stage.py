"""The second stage (hybrid+rerank): lead vectors stored at index time, kept aligned through
updates and merges, covered by checksums, and fused with the first stage as hand-computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cited.config import RetrievalSettings, Settings
from indexer.build import options_from
from indexer.errors import IndexIntegrityError, ModelNotFoundError
from indexer.index import Hit, Index, open_index
from indexer.layout import SECOND_STAGE_FILE, SEGMENTS
from indexer.second_stage import (
    SECOND_STAGES,
    SecondStage,
    StoredLeads,
    StoredVectorSecondStage,
    cut_at_word,
    lead_text,
    load_second_stage,
)
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from service.retrieval import Retriever, UnknownModeError, fuse
from tests.fakes import HashingEmbedder, KeywordEncoder

KEYWORDS = ("wheat", "rates", "floods")
ARTICLES = [
    Article("a1", "Rates", "The central bank raised interest rates again. Markets fell."),
    Article("a2", "Harvest", "Farmers expect a record harvest. Wheat wheat wheat everywhere."),
    Article("a3", "Floods", "Floods closed roads. The floods also closed schools in the valley."),
    Article("a4", "Wheat prices", "Wheat prices fell as the harvest outlook improved."),
]


def options(encoder: KeywordEncoder | None, **changes: object) -> UpdateOptions:
    stage = StoredLeads(encoder, lead_chars=40) if encoder is not None else None
    base = UpdateOptions(progress=False, chunk_tokens=8, grace_s=0.0, second_stage=stage)
    return UpdateOptions(**{**base.__dict__, **changes})


def expected_rows(index: Index, encoder: KeywordEncoder) -> tuple[list[int], np.ndarray]:
    """The oracle: every live chunk's row is the encoder's vector of its article's lead."""
    ids = index.store.chunk_ids()
    chunks = index.chunks(ids)
    leads = [lead_text(index.article(chunks[i].article_id), 40) for i in ids]
    return ids, KeywordEncoder(encoder.keywords).embed_documents(leads)


def test_lead_text_is_title_standfirst_and_a_word_cut_opening() -> None:
    assert cut_at_word("one two three", 100) == "one two three"
    assert cut_at_word("one two three four", 12) == "one two"
    assert cut_at_word("abcdefghijkl", 5) == "abcde"  # no space in the first half: hard cut
    article = Article("x", " Title ", "Body one two three.", standfirst="Standfirst.")
    assert lead_text(article, 8) == "Title\nStandfirst.\nBody one"
    with pytest.raises(ValueError, match="at least 1, got 0"):
        lead_text(article, 0)


def test_index_stores_one_lead_vector_per_chunk(tmp_path: Path) -> None:
    encoder = KeywordEncoder(KEYWORDS)
    report = update_index(tmp_path, HashingEmbedder(), ARTICLES, options=options(encoder))
    assert report.leads_embedded == 4 and len(encoder.calls[0]) == 4
    index = open_index(tmp_path)
    info = index.manifest.second_stage
    assert info is not None and (info.model, info.dim, info.lead_chars) == ("test/keywords", 4, 40)
    assert index.counts["chunks"] > 4  # several chunks share one lead
    ids, oracle = expected_rows(index, encoder)
    np.testing.assert_allclose(index.second_stage_vectors(ids), oracle, atol=1e-6)
    stored = [f for f in index.manifest.files if f.endswith(SECOND_STAGE_FILE)]
    assert len(stored) == 1


def test_rows_stay_aligned_through_updates_deletes_and_merges(tmp_path: Path) -> None:
    encoder = KeywordEncoder(KEYWORDS)
    embedder = HashingEmbedder()
    update_index(tmp_path, embedder, ARTICLES[:2], options=options(encoder))
    update_index(tmp_path, embedder, ARTICLES[2:], options=options(encoder))
    changed = Article("a1", "Rates", "Rates rates rates. Floods too.")
    update_index(tmp_path, embedder, [changed], delete=["a3"], options=options(encoder))
    index = open_index(tmp_path)
    assert len(index.manifest.segments) == 3
    ids, oracle = expected_rows(index, encoder)
    np.testing.assert_allclose(index.second_stage_vectors(ids), oracle, atol=1e-6)
    merged = update_index(
        tmp_path, embedder, [ARTICLES[2]], options=options(encoder, max_segments=1)
    )
    assert merged.segments == 1
    index = open_index(tmp_path)
    ids, oracle = expected_rows(index, encoder)
    assert sorted({index.chunks(ids)[i].article_id for i in ids}) == ["a1", "a2", "a3", "a4"]
    np.testing.assert_allclose(index.second_stage_vectors(ids), oracle, atol=1e-6)


def test_a_changed_second_stage_rebuilds_and_known_leads_come_from_the_cache(
    tmp_path: Path,
) -> None:
    embedder = HashingEmbedder()
    update_index(tmp_path, embedder, ARTICLES, options=options(None))
    assert open_index(tmp_path).manifest.second_stage is None
    encoder = KeywordEncoder(KEYWORDS)
    report = update_index(tmp_path, embedder, ARTICLES, options=options(encoder))
    assert report.rebuilt and report.leads_embedded == 4 and report.embedded == 0
    assert open_index(tmp_path).manifest.second_stage is not None
    again = update_index(tmp_path, embedder, ARTICLES, force=True, options=options(encoder))
    assert again.leads_embedded == 0 and len(encoder.calls) == 1


def test_a_damaged_rerank_file_is_refused(tmp_path: Path) -> None:
    update_index(tmp_path, HashingEmbedder(), ARTICLES, options=options(KeywordEncoder(KEYWORDS)))
    path = next((tmp_path / "versions").glob(f"*/{SEGMENTS}/*/{SECOND_STAGE_FILE}"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexIntegrityError, match=SECOND_STAGE_FILE):
        open_index(tmp_path)


@pytest.fixture
def indexed(tmp_path: Path) -> Index:
    update_index(tmp_path, HashingEmbedder(), ARTICLES, options=options(KeywordEncoder(KEYWORDS)))
    return open_index(tmp_path)


def test_hybrid_rerank_fuses_the_second_stage_as_a_third_ranking(indexed: Index) -> None:
    encoder = KeywordEncoder(KEYWORDS)
    fusion = RetrievalSettings(rrf_k=60, rerank_weight=2.0, rerank_depth=100)
    retriever = Retriever(
        indexed, HashingEmbedder(), fusion=fusion, second_stage=StoredVectorSecondStage(encoder)
    )
    query = "wheat harvest"
    found = retriever.search(query, k=3, mode="hybrid+rerank")
    # The oracle, by hand: the two first-stage rankings, the fused list, its re-scoring by the
    # query's cosine with each chunk's lead vector, and the weighted fusion of all three.
    vector = HashingEmbedder().embed_query(query)
    dense = indexed.dense(vector, 100)
    lexical = indexed.bm25(query, 100)
    first = fuse([(1.0, dense), (1.0, lexical)], 60)
    ids = [h.chunk_id for h in first]
    scores = indexed.second_stage_vectors(ids) @ encoder.embed_query(query)
    second = [Hit(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")]
    final = fuse([(1.0, dense), (1.0, lexical), (2.0, second)], 60)
    assert [p.chunk_id for p in found.passages] == [h.chunk_id for h in final[:3]]
    assert found.passages[0].article_id == "a2"  # "wheat" three times in its lead
    assert "rerank" in found.timings_ms and found.mode == "hybrid+rerank"


def test_weight_zero_gives_the_hybrid_ranking(indexed: Index) -> None:
    fusion = RetrievalSettings(rerank_weight=0.0)
    second_stage = StoredVectorSecondStage(KeywordEncoder(KEYWORDS))
    retriever = Retriever(indexed, HashingEmbedder(), fusion=fusion, second_stage=second_stage)
    for query in ("floods closed roads", "interest rates", "wheat"):
        hybrid = retriever.search(query, k=5, mode="hybrid").passages
        both = retriever.search(query, k=5, mode="hybrid+rerank").passages
        assert [p.chunk_id for p in both] == [p.chunk_id for p in hybrid]


def test_the_mode_is_refused_with_the_reason_when_it_cannot_run(tmp_path: Path) -> None:
    update_index(tmp_path, HashingEmbedder(), ARTICLES, options=options(None))
    plain = open_index(tmp_path)
    retriever = Retriever(
        plain,
        HashingEmbedder(),
        mode="hybrid+rerank",
        second_stage=StoredVectorSecondStage(KeywordEncoder(KEYWORDS)),
    )
    assert retriever.mode == "hybrid"  # the default falls back, and says why in the log
    assert "hybrid+rerank" not in retriever.modes
    with pytest.raises(UnknownModeError, match="no second-stage vectors"):
        retriever.search("wheat", 3, mode="hybrid+rerank")
    without = Retriever(plain, HashingEmbedder())
    with pytest.raises(UnknownModeError, match="CITED_RERANKER=none"):
        without.search("wheat", 3, mode="hybrid+rerank")


def test_vectors_of_another_second_stage_model_are_not_used(indexed: Index) -> None:
    other = StoredVectorSecondStage(KeywordEncoder(KEYWORDS, name="test/other"))
    reason = other.unavailable(indexed)
    assert reason is not None and "'test/keywords'" in reason and "'test/other'" in reason


class TextOverlap(SecondStage):
    """A second stage that stores nothing and reads the candidates' texts (as a cross-encoder
    would): the share of the query's words in each chunk."""

    name = "test/overlap"

    def scores(self, query: str, index: Index, chunk_ids: list[int]) -> np.ndarray:
        words = set(query.lower().split())
        chunks = index.chunks(chunk_ids)
        return np.asarray(
            [len(words & set(chunks[i].text.lower().split())) / len(words) for i in chunk_ids]
        )


def test_the_factory_loads_a_second_stage_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_second_stage(Settings.of(reranker=" None ")) is None
    monkeypatch.setitem(SECOND_STAGES, "overlap", lambda settings: TextOverlap())
    assert isinstance(load_second_stage(Settings.of(reranker="Overlap")), TextOverlap)
    with pytest.raises(ModelNotFoundError, match="'no-such-stage' is not a second stage \\(none, "):
        load_second_stage(Settings.of(reranker="no-such-stage"))


def test_the_stored_vector_second_stage_takes_its_lead_size_from_the_settings() -> None:
    settings = Settings.of(reranker="none", rerank_lead_chars=300)
    stage = StoredVectorSecondStage(KeywordEncoder(KEYWORDS), settings.index.rerank_lead_chars)
    stored = options_from(settings, progress=False, second_stage=stage).second_stage
    assert stored is not None and stored.record().lead_chars == 300
    assert options_from(settings, second_stage=TextOverlap()).second_stage is None


def test_a_second_stage_that_stores_nothing_runs_on_an_index_without_vectors(
    tmp_path: Path,
) -> None:
    stage = TextOverlap()
    options = options_from(Settings.of(reranker="none"), progress=False, second_stage=stage)
    update_index(tmp_path, HashingEmbedder(), ARTICLES, options=options)
    index = open_index(tmp_path)
    assert index.manifest.second_stage is None
    retriever = Retriever(index, HashingEmbedder(), mode="hybrid+rerank", second_stage=stage)
    assert retriever.mode == "hybrid+rerank"
    found = retriever.search("wheat prices", 2)
    assert found.passages[0].article_id == "a4"
