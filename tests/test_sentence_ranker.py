"""The learned sentence ranker: its features, its file, how the selector uses it, its training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eval.beir import EvalError
from eval.cli import app
from eval.train_examples import load_examples, save_examples
from eval.train_selector import Example, cross_validate, fit, top1
from indexer.embedders.base import Embedder
from service.answering.candidates import candidates
from service.answering.features import FEATURES, Scores, focus, sentence_features
from service.answering.ranker import (
    PACKAGED,
    RankerFileError,
    SentenceRanker,
    load_ranker,
)
from service.answering.sentences import SentenceSelector
from service.retrieval import Passage, Retrieval
from tests.fakes import HashingEmbedder
from tests.test_eval import write_beir

COLUMN = {name: i for i, name in enumerate(FEATURES)}


def _passage(rank: int, article: str, start: int, text: str, similarity: float) -> Passage:
    return Passage(
        rank=rank,
        chunk_id=rank,
        article_id=article,
        title=article.upper(),
        start=start,
        end=start + len(text),
        text=text,
        score=1.0 / rank,
        similarity=similarity,
    )


PASSAGES = [
    _passage(1, "a", 0, "Lava reached the sea. The volcano erupted in 1991.", 0.5),
    _passage(2, "b", 400, 'Officials said "the volcano is quiet" now, Mayor Kai Lee said.', 0.3),
]
QUESTION = "When did the volcano erupt?"


def test_features_by_hand() -> None:
    sentences = candidates(PASSAGES)
    assert [(s.passage.article_id, s.start) for s in sentences] == [("a", 0), ("a", 22), ("b", 400)]
    scores = Scores(
        similarity=np.array([0.2, 0.6, 0.4], dtype=np.float32),
        lexical=np.array([0.0, 1.0, 0.5], dtype=np.float32),
        passage=np.array([0.5, 0.5, 0.3], dtype=np.float32),
    )
    rows = sentence_features(QUESTION, sentences, scores)
    assert rows.shape == (3, len(FEATURES))

    def column(name: str) -> list[float]:
        return [round(float(x), 5) for x in rows[:, COLUMN[name]]]

    assert column("similarity_gap") == [-0.4, 0.0, -0.2]
    assert column("lexical_gap") == [-1.0, 0.0, -0.5]
    assert column("inverse_rank") == [1.0, 1.0, 0.5]
    assert column("lead") == [1.0, 1.0, 0.0]  # article offsets 0, 22 (< 300) and 400
    assert column("typed_span") == [0.0, 1.0, 0.0]  # a date is asked; only "1991" is one
    assert column("typed_missing") == [1.0, 0.0, 1.0]
    # terms: {lava, reach, sea}; {volcano, erupt, 1991}; {offici, volcano, quiet, mayor, kai, lee}
    assert column("restates") == [0.0, round(2 / 3, 5), round(1 / 6, 5)]
    # idf over the three sentences: "volcano" in two, "erupt" in one
    volcano, erupt = math.log(1 + 4 / 3), math.log(1 + 4 / 2)
    assert column("focus_lexical") == [0.0, 1.0, round(volcano / (volcano + erupt), 5)]
    assert column("new_names") == [0.0, 0.0, round(math.log1p(3), 5)]  # Mayor Kai Lee
    assert column("new_numbers") == [0.0, 1.0, 0.0]
    # A why-question asks for an explanation: names and numbers are not what it lacks.
    why = sentence_features("Why did the volcano erupt?", sentences, scores)
    assert why[:, COLUMN["new_names"]].tolist() == [0.0, 0.0, 0.0]
    assert why[:, COLUMN["new_numbers"]].tolist() == [0.0, 0.0, 0.0]
    assert column("article_share") == [round(2 / 3, 5), round(2 / 3, 5), round(1 / 3, 5)]
    assert column("quoted") == [0.0, 0.0, 1.0]
    assert column("length")[1] == round(math.log1p(len("The volcano erupted in 1991.") / 100), 5)
    empty = np.zeros(0, dtype=np.float32)
    assert sentence_features(QUESTION, [], Scores(empty, empty, empty)).shape == (0, len(FEATURES))


def test_the_focus_is_the_clause_that_asks() -> None:
    assert focus("Carnival closed this week. Mardi Gras is French for what?") == (
        "Mardi Gras is French for what?"
    )
    assert focus("Who won?") == "Who won?"
    assert focus("the volcano eruption") == "the volcano eruption"


def _ranker(**weights: float) -> SentenceRanker:
    coef = np.zeros(len(FEATURES))
    for name, value in weights.items():
        coef[COLUMN[name]] = value
    return SentenceRanker(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), coef, 0.0)


def _retrieval(embedder: Embedder) -> Retrieval:
    return Retrieval(QUESTION, embedder.embed_query(QUESTION), PASSAGES)


def test_the_ranker_orders_and_the_linear_score_decides_abstention() -> None:
    embedder = HashingEmbedder()
    linear = SentenceSelector(embedder, threshold=0.0)
    plain = linear.answer(QUESTION, _retrieval(embedder))
    assert plain.citations[0].quote == "The volcano erupted in 1991."
    # A ranker that prefers quoted sentences away from the lead picks the other article's one.
    ranked = SentenceSelector(embedder, threshold=0.0, ranker=_ranker(quoted=5.0, lead=-5.0))
    answer = ranked.answer(QUESTION, _retrieval(embedder))
    assert answer.citations[0].quote == PASSAGES[1].text
    assert answer.score == plain.score  # the evidence score: the best linear one
    # One given passage (SQuAD's protocol) keeps the linear order: the ranker describes a retrieval.
    one = Retrieval(QUESTION, embedder.embed_query(QUESTION), PASSAGES[:1])
    assert ranked.answer(QUESTION, one).citations[0].quote == "The volcano erupted in 1991."
    assert plain.score is not None
    # Above the best linear score both abstain, whatever the ranker prefers.
    strict = SentenceSelector(
        embedder, threshold=plain.score + 0.01, ranker=_ranker(quoted=5.0, lead=-5.0)
    )
    refused = strict.answer(QUESTION, _retrieval(embedder))
    assert refused.abstained and refused.score == plain.score


def test_ranker_file_round_trip_and_errors(tmp_path: Path) -> None:
    ranker = _ranker(similarity=1.5, lead=-0.5)
    path = tmp_path / "model.json"
    SentenceRanker(ranker.mean, ranker.scale, ranker.coef, 0.25, record={"x": 1}).save(path)
    loaded = load_ranker(str(path))
    assert loaded is not None and loaded.intercept == 0.25 and loaded.record == {"x": 1}
    rows = np.eye(len(FEATURES), dtype=np.float32)
    assert np.allclose(loaded.scores(rows), ranker.coef + 0.25)
    assert load_ranker("none") is None

    data = json.loads(path.read_text())
    data["features"] = [*data["features"][:-1], "colour"]
    path.write_text(json.dumps(data))
    with pytest.raises(
        RankerFileError, match=rf"missing \['{FEATURES[-1]}'\], unknown \['colour'\]"
    ):
        load_ranker(str(path))
    path.write_text(json.dumps({"format": "something/9"}))
    with pytest.raises(RankerFileError, match="something/9"):
        load_ranker(str(path))
    with pytest.raises(RankerFileError, match="does not exist"):
        load_ranker(str(tmp_path / "absent.json"))
    with pytest.raises(RankerFileError, match="shape"):
        SentenceRanker(np.zeros(2), np.ones(2), np.zeros(2), 0.0)


def test_the_packaged_ranker_records_how_it_was_trained() -> None:
    ranker = load_ranker("packaged")
    assert ranker is not None
    record = ranker.record
    assert record["commit"] and record["sources"] and record["useful"] > 0
    # Never trained on what docs/ANSWERS.md reports on: news_2022.
    for source in record["sources"]:
        assert source["kind"] == "news" and "news_2022" not in source["path"]
    assert PACKAGED.stat().st_size < 5_000_000


def _examples(seed: int, n: int) -> list[Example]:
    """The answer is always the row with the highest ``lead`` feature (by a margin of 3); the
    linear score is built to prefer another row."""
    rng = np.random.default_rng(seed)
    out = []
    for q in range(n):
        rows = rng.normal(size=(6, len(FEATURES))).astype(np.float32)
        right = int(np.argmax(rows[:, COLUMN["lead"]]))
        rows[right, COLUMN["lead"]] += 3.0
        labels = np.zeros(6, dtype=bool)
        labels[right] = True
        linear = rng.random(6).astype(np.float32)
        linear[right] = -1.0
        out.append(Example(f"q{q}", f"w{q % 7}", rows, labels, linear))
    return out


def test_fit_learns_what_holds_the_answer_out_of_fold() -> None:
    examples = _examples(0, 140)
    hits = cross_validate(examples)
    assert len(hits["ranker"]) == 140
    assert sum(hits["linear"].values()) == 0
    assert sum(hits["ranker"].values()) / 140 >= 0.95
    ranker = fit(examples)
    assert int(np.argmax(np.abs(ranker.coef))) == COLUMN["lead"] and ranker.coef[COLUMN["lead"]] > 0
    assert top1(_examples(1, 50), ranker) >= 0.95 and top1(_examples(1, 50), None) == 0.0


def test_collected_examples_round_trip(tmp_path: Path) -> None:
    examples = _examples(2, 5)
    path = tmp_path / "news.npz"
    save_examples(path, examples, {"questions": 5, "limit": None})
    loaded, source = load_examples(path)
    assert source == {"questions": 5, "limit": None}
    assert [(e.id, e.group) for e in loaded] == [(e.id, e.group) for e in examples]
    for a, b in zip(loaded, examples, strict=True):
        assert np.array_equal(a.rows, b.rows) and np.array_equal(a.labels, b.labels)
        assert np.array_equal(a.linear, b.linear)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "features": ["similarity", "colour"]}))
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(EvalError, match=r"collected for features \['similarity', 'colour'\]"):
        load_examples(path)
    path.write_text("not numpy")
    with pytest.raises(EvalError, match="unreadable"):
        load_examples(path)


@pytest.mark.slow
def test_train_selector_cli_records_its_data_and_eval_flags_it(
    tmp_path: Path, real_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cited.compose import Parts

    monkeypatch.setenv("CITED_RERANKER", "none")
    monkeypatch.setenv("CITED_MODE", "hybrid")
    data = write_beir(tmp_path / "tiny")
    model = tmp_path / "ranker.json"
    runner = CliRunner()
    args = ["train-selector", "--news", str(data), "--examples", str(tmp_path / "examples")]
    index = ["--index", str(tmp_path / "index")]
    result = runner.invoke(
        app, [*args, *index, "--out", str(model)], obj=Parts(embedder=real_embedder)
    )
    assert result.exit_code == 0, result.output
    assert "| tiny | 2 | 2 |" in result.output  # two questions with answers, both useful
    ranker = load_ranker(str(model))
    assert ranker is not None
    (source,) = ranker.record["sources"]
    assert source["path"] == str(data.resolve()) and source["questions"] == 2
    assert ranker.record["useful"] == 2
    assert (tmp_path / "examples" / "tiny.npz").is_file()
    # A re-fit reads the collected examples: no index is opened (this one does not exist).
    refit = tmp_path / "refit.json"
    missing = ["--index", str(tmp_path / "absent")]
    result = runner.invoke(
        app, [*args, *missing, "--out", str(refit)], obj=Parts(embedder=real_embedder)
    )
    assert result.exit_code == 0, result.output
    again = load_ranker(str(refit))
    assert again is not None and np.array_equal(again.coef, ranker.coef)
    assert again.record["sources"][0]["examples_file"].endswith("tiny.npz")
    assert not (tmp_path / "absent").exists()
    result = runner.invoke(
        app, [*args, "--limit", "1", "--out", str(refit)], obj=Parts(embedder=real_embedder)
    )
    assert result.exit_code == 2 and "collected with --limit None, not 1" in result.output

    monkeypatch.setenv("CITED_SENTENCE_RANKER", str(model))
    out = tmp_path / "answers"
    result = runner.invoke(
        app,
        ["answers", "--data", str(data), "--index", str(tmp_path / "index"), "--out", str(out)],
        obj=Parts(embedder=real_embedder),
    )
    assert result.exit_code == 0, result.output
    run = json.loads((out / "metrics.json").read_text())["run"]
    assert run["sentence_ranker"] == str(model) and run["ranker_trained_on_this"] is True

    result = runner.invoke(
        app, ["train-selector", "--out", str(model)], obj=Parts(embedder=real_embedder)
    )
    assert result.exit_code == 2 and "nothing to train on" in result.output


def test_cited_train_selector_runs_the_eval_trainer() -> None:
    """`cited train selector` is eval's trainer, mounted in process."""
    from cited.cli import app as cited_app

    done = CliRunner().invoke(cited_app, ["train", "reader"])
    assert done.exit_code == 2 and "No such command 'reader'" in done.output
    done = CliRunner().invoke(cited_app, ["train", "selector"])
    assert done.exit_code == 2 and "nothing to train on" in done.output
