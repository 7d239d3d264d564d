"""``python -m eval answers``: SQuAD normalisation and EM/F1 by hand, the split, the sweep, and
tiny SQuAD / BEIR runs through the real selector and pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cited.config import Settings
from eval.answers import Prediction, run_news
from eval.answers_report import best_threshold, news_metrics, sweep
from eval.beir import load_dataset
from eval.cli import app
from eval.run import prepare_index
from eval.squad import limited, load_squad, split_articles
from eval.squad_metrics import best_em_f1, contains_any, exact_match, f1_score, normalize_answer
from indexer.embedders.base import Embedder
from service.pipeline import Pipeline
from tests.test_eval import write_beir


def test_normalisation_is_the_official_one() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear & the plum.") == "apple pear plum"
    assert normalize_answer("Theory of Anaesthesia") == "theory of anaesthesia"  # "the" inside
    assert normalize_answer("“Squid Game”") == "“squid game”"  # ASCII punctuation only


def test_exact_match_and_f1_by_hand() -> None:
    assert exact_match("the Broncos", "Broncos.") == 1.0
    assert exact_match("Denver Broncos", "Broncos") == 0.0
    # prediction {big, red, dog}, gold {red, dog, barked}: 2 common, P = R = 2/3, F1 = 2/3
    assert f1_score("the big red dog", "a red dog barked") == pytest.approx(2 / 3)
    # prediction {5, million}, gold {over, 5, million}: P = 1, R = 2/3, F1 = 0.8
    assert f1_score("$5 million", "over $5 million") == pytest.approx(0.8)
    assert f1_score("Coldplay", "Beyoncé") == 0.0
    # max over the gold answers; no prediction is the empty string
    assert best_em_f1("Denver", ["Denver Broncos", "Denver"]) == (1.0, 1.0)
    assert best_em_f1(None, ["Denver"]) == (0.0, 0.0)
    assert best_em_f1(None, []) == (1.0, 1.0)  # unanswerable, correctly left empty
    assert best_em_f1("Denver", []) == (0.0, 0.0)


def test_containment_strips_quotes_and_respects_words() -> None:
    assert contains_any("Netflix renews “Squid Game” for a second season", ["“Squid Game”"])
    assert not contains_any("Europeans voted", ["Europe"])
    # A possessive contains the name, with either apostrophe.
    assert contains_any("Steven Spielberg's film won", ["Steven Spielberg"])
    assert contains_any("Steven Spielberg\u2019s film won", ["Steven Spielberg"])
    assert contains_any("the players' union", ["players"])
    assert not contains_any(None, ["Europe"])


SQUAD_V2 = {
    "version": "v2.0",
    "data": [
        {
            "title": "Forum",
            "paragraphs": [
                {
                    "context": "The forum opened in Singapore in June. It was attended by "
                    "2,000 delegates. Li Shangfu became defence minister in March.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "When did Li Shangfu become defence minister?",
                            "answers": [{"text": "March", "answer_start": 90}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "How many delegates attended the forum?",
                            "answers": [{"text": "2,000", "answer_start": 55}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q3",
                            "question": "Who closed the forum in December?",
                            "answers": [],
                            "plausible_answers": [{"text": "Li", "answer_start": 68}],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Volcano",
            "paragraphs": [
                {
                    "context": "The volcano erupted in 1991. Lava reached the sea.",
                    "qas": [
                        {
                            "id": "q4",
                            "question": "When did the volcano erupt?",
                            "answers": [{"text": "1991", "answer_start": 23}],
                            "is_impossible": False,
                        }
                    ],
                }
            ],
        },
    ],
}


def test_squad_loading_and_article_split(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD_V2))
    squad = load_squad(path)
    assert squad.is_v2 and len(squad.articles) == 2
    first = squad.articles[0][0]
    assert first.questions[2].impossible and first.questions[2].answers == ()
    assert [a[0].title for a in split_articles(squad, "calibration")] == ["Forum"]
    assert [a[0].title for a in split_articles(squad, "report")] == ["Volcano"]
    assert sum(len(p.questions) for p in limited(split_articles(squad, "all"), 2)) == 2


def _prediction(score: float, impossible: bool, hit: bool) -> Prediction:
    return Prediction("q", "?", True, score, hit, None, (), impossible=impossible)


def test_threshold_sweep_balances_abstaining_and_answering() -> None:
    predictions = [
        _prediction(0.7, False, True),
        _prediction(0.5, False, True),
        _prediction(0.45, False, False),
        _prediction(0.4, True, False),
        _prediction(0.2, True, False),
    ]
    points = {p.threshold: p for p in sweep(predictions)}
    assert points[0.3].noans_abstain_rate == 0.5
    assert points[0.3].hasans_sentence_accuracy == pytest.approx(2 / 3)
    assert best_threshold(list(points.values())).threshold == 0.41  # answers >= 95%
    assert best_threshold(list(points.values()), min_answered=1.0).threshold == 0.41
    best = best_threshold(list(points.values()), min_answered=None)
    # From 0.41 up to 0.50 both unanswerable questions abstain and both right sentences stay;
    # ties go to the lowest threshold.
    assert best.threshold == 0.41 and best.objective == pytest.approx((1 + 2 / 3) / 2)


@pytest.mark.slow
def test_answers_cli_on_squad(tmp_path: Path, real_embedder: Embedder) -> None:
    from cited.compose import Parts

    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD_V2))
    out = tmp_path / "out"
    args = ["answers", "--data", str(path), "--out", str(out)]
    result = CliRunner().invoke(app, args, obj=Parts(embedder=real_embedder))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("sentence_accuracy", "exact_match", "f1", "noans_abstain_rate"):
        assert key in metrics
    assert metrics["hasans_sentence_accuracy"] == 1.0
    rows = {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").open())}
    assert rows["q1"]["short_answer"] == "March" and rows["q1"]["exact_match"] == 1.0
    assert rows["q2"]["short_answer"] == "2,000"
    assert (out / "metrics.md").read_text().startswith("# answers: squad-v2.0-all")


@pytest.mark.slow
def test_news_answers_through_the_pipeline(tmp_path: Path, real_embedder: Embedder) -> None:
    dataset = load_dataset(write_beir(tmp_path / "tiny"))
    settings = Settings.of(index_dir=tmp_path / "index", abstain_threshold=0.2)
    prepare_index(dataset, settings.index.index_dir, real_embedder, settings, False)
    pipeline = Pipeline.open(settings, real_embedder)
    try:
        predictions = run_news(dataset, pipeline, dataset.judged()[:2], progress=False)
    finally:
        pipeline.close()
    metrics = news_metrics(predictions)
    assert metrics["questions"] == 2 and metrics["abstain_rate"] == 0.0
    assert metrics["answer_containment"] == 1.0  # "lava", "Buffalo Bills"
    assert metrics["citation_relevant_rate"] == 1.0


def test_news_metrics_count_what_an_answer_gives_to_read() -> None:
    def news(id: str, answer: str | None, citations: int, hit: bool) -> Prediction:
        return Prediction(
            id=id, question="q?", answered=answer is not None, score=0.5, hit=hit,
            short_answer=None, golds=("x",), relevant_citation=hit,
            extra={"answer": answer, "citations": citations},
        )  # fmt: skip

    metrics = news_metrics(
        [
            news("1", "Lava reached the sea. [1] It erupted in 1991. [2]", 2, True),
            news("2", "Quiet now. [1]", 1, False),
            news("3", None, 0, False),
        ]
    )
    assert metrics["answer_containment"] == 1 / 3 and metrics["abstain_rate"] == 1 / 3
    assert metrics["citations_per_answer"] == 1.5  # (2 + 1) / 2 answered
    assert metrics["words_per_answer"] == 5.0  # (8 + 2) / 2: the [n] markers are not words
