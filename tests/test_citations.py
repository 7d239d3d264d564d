"""The citation checker refuses anything that does not slice back to this request's passages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from cited.config import Settings
from indexer.build import build_index
from indexer.index import Index, open_index
from service.answering.base import Answer, Citation
from service.citations import citation_problem, verify_answer
from service.pipeline import Pipeline
from tests.fakes import HashingEmbedder
from tests.test_index_format import write_corpus


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """One pipeline for the module: every test here only reads."""
    embedder = HashingEmbedder()
    tmp_path = tmp_path_factory.mktemp("citations")
    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, embedder, progress=False)
    opened = Pipeline.open(Settings.of(index_dir=index_dir, abstain_threshold=0.2), embedder)
    try:
        yield opened
    finally:
        opened.close()


def answered(pipeline: Pipeline, question: str) -> tuple[Answer, Citation]:
    result = pipeline.ask(question)
    assert not result.answer.abstained
    return result.answer, result.answer.citations[0]


def test_sound_citation_passes(pipeline: Pipeline) -> None:
    result = pipeline.ask("Who said the bank would act?")
    citation = result.answer.citations[0]
    assert citation_problem(citation, pipeline.index, result.retrieval) is None
    assert verify_answer(result.answer, pipeline.index, result.retrieval) == result.answer


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c, text: replace(c, start=c.start + 1), "quote differs"),
        (lambda c, text: replace(c, end=len(text) + 5), "outside the article"),
        (lambda c, text: replace(c, quote=c.quote.replace("bank", "fund")), "quote differs"),
        (lambda c, text: replace(c, article_id="story-404"), "not in index version"),
    ],
)
def test_broken_citations_are_refused(
    pipeline: Pipeline, change: Callable[[Citation, str], Citation], reason: str
) -> None:
    result = pipeline.ask("Who said the bank would act?")
    citation = result.answer.citations[0]
    text = pipeline.index.article(citation.article_id).text
    broken = change(citation, text)
    assert reason in (citation_problem(broken, pipeline.index, result.retrieval) or "")
    verified = verify_answer(
        replace(result.answer, citations=[broken]), pipeline.index, result.retrieval
    )
    assert verified.abstained and verified.text is None and verified.citations == []


def test_a_passage_from_another_request_is_refused(pipeline: Pipeline) -> None:
    first = pipeline.ask("Who said the bank would act?")
    other = pipeline.search("zzzz unrelated words", k=1)
    # Same article text, valid offsets, but not among the passages this request retrieved.
    other.passages = [
        p for p in other.passages if p.article_id != first.answer.citations[0].article_id
    ]
    problem = citation_problem(first.answer.citations[0], pipeline.index, other)
    assert problem is not None and "not inside any passage" in problem


def test_one_bad_citation_of_two_is_dropped_and_renumbered(pipeline: Pipeline) -> None:
    result = pipeline.ask("Who said the bank would act?")
    good = result.answer.citations[0]
    bad = replace(good, n=2, quote="Invented words.")
    answer = Answer(
        f"{bad.quote} [1] {good.quote} [2]", False, [replace(bad, n=1), replace(good, n=2)]
    )
    verified = verify_answer(answer, pipeline.index, result.retrieval)
    assert not verified.abstained
    assert [c.n for c in verified.citations] == [1]
    assert verified.citations[0].quote == good.quote
    assert verified.text == f"{good.quote} [1]"
    assert "Invented" not in (verified.text or "")


def test_index_open_is_reused(pipeline: Pipeline) -> None:
    assert isinstance(pipeline.index, Index)
    assert open_index(pipeline.settings.index.index_dir).version == pipeline.index.version
