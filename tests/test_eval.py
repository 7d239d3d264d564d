"""The evaluation harness: BEIR loading, hand-checked metrics, and a tiny run end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.beir import EvalError, load_dataset, read_qrels, read_queries
from eval.cli import app
from eval.metrics import collapse, contains_answer, ir_metrics, percentile
from eval.report import write_report
from eval.run import resolve_configs, run_eval
from service.retrieval import UnknownModeError
from tests.conftest import data_dir
from tests.fakes import HashingEmbedder

# --- metrics, computed by hand ---------------------------------------------------------------

QRELS = {
    "q1": {"d1": 2, "d3": 1},  # graded: d1 counts twice as much as d3 in nDCG
    "q2": {"d2": 1},
    "q3": {"d4": 1, "d5": 1},
    "q4": {"d1": 1},
}
FILLER = [(f"x{i}", 0.5 - i / 100) for i in range(10)]
RUN = {
    "q1": [("d2", 0.9), ("d1", 0.8), ("d4", 0.7), ("d3", 0.6)],
    "q2": [("d3", 0.9), ("d5", 0.8), ("d1", 0.7)],
    "q3": [("d4", 0.9), *FILLER, ("d5", 0.1)],  # d5 at rank 12: inside @100, outside @10
    "q4": [],  # retrieved nothing: still counts, as 0
}


def test_ir_metrics_match_hand_computation() -> None:
    result = ir_metrics(QRELS, RUN)
    # q1: d1 (gain 2) at rank 2, d3 (gain 1) at rank 4; trec_eval gains are the qrels scores.
    #   DCG  = 2/log2(1+2) + 1/log2(1+4) = 2/1.584963 + 1/2.321928 = 1.261860 + 0.430677 = 1.692536
    #   IDCG = 2/log2(2) + 1/log2(3) = 2 + 0.630930 = 2.630930
    #   nDCG@10 = 1.692536 / 2.630930 = 0.643322; R@10 = 2/2 = 1; RR@10 = 1/2 (first hit rank 2)
    # q2: d2 never retrieved: nDCG 0, R 0, RR 0.
    # q3: d4 at rank 1, d5 at rank 12.
    #   DCG@10 = 1/log2(2) = 1; IDCG = 1/log2(2) + 1/log2(3) = 1.630930; nDCG@10 = 0.613147
    #   R@10 = 1/2; R@100 = 2/2; RR@10 = 1/1
    # q4: nothing retrieved: all 0.
    q = result.per_query
    assert q["q1"]["ndcg@10"] == pytest.approx(0.643322, abs=1e-4)
    assert q["q1"]["recall@10"] == pytest.approx(1.0, abs=1e-4)
    assert q["q1"]["mrr@10"] == pytest.approx(0.5, abs=1e-4)
    assert q["q2"] == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    assert q["q3"]["ndcg@10"] == pytest.approx(0.613147, abs=1e-4)
    assert q["q3"]["recall@10"] == pytest.approx(0.5, abs=1e-4)
    assert q["q3"]["recall@100"] == pytest.approx(1.0, abs=1e-4)
    assert q["q3"]["mrr@10"] == pytest.approx(1.0, abs=1e-4)
    assert q["q4"]["ndcg@10"] == 0.0
    # Means over all 4 judged queries:
    #   nDCG@10 = (0.643322 + 0 + 0.613147 + 0) / 4 = 0.314117
    #   R@10 = (1 + 0 + 0.5 + 0) / 4 = 0.375;  R@100 = (1 + 0 + 1 + 0) / 4 = 0.5
    #   RR@10 = (0.5 + 0 + 1 + 0) / 4 = 0.375
    assert result.means["ndcg@10"] == pytest.approx(0.314117, abs=1e-4)
    assert result.means["recall@10"] == pytest.approx(0.375, abs=1e-4)
    assert result.means["recall@100"] == pytest.approx(0.5, abs=1e-4)
    assert result.means["mrr@10"] == pytest.approx(0.375, abs=1e-4)


def test_queries_without_qrels_are_not_measured() -> None:
    result = ir_metrics({"q1": {"d1": 1}}, {"q1": [("d1", 1.0)], "unjudged": [("d1", 1.0)]})
    assert set(result.per_query) == {"q1"}
    assert result.means["mrr@10"] == 1.0


def test_best_chunk_collapsing() -> None:
    # Two chunks of d2 (ranks 1 and 3): one document at d2's first position, its best score.
    passages = [("d2", 0.9), ("d1", 0.8), ("d2", 0.7), ("d3", 0.6)]
    assert collapse(passages) == [("d2", 0.9), ("d1", 0.8), ("d3", 0.6)]
    # Without collapsing, d3 would be third; collapsed, it is at rank 3 of documents: RR = 1/3.
    assert ir_metrics({"q": {"d3": 1}}, {"q": collapse(passages)}).means["mrr@10"] == (
        pytest.approx(1 / 3, abs=1e-4)
    )


def test_the_given_order_is_evaluated_even_with_tied_scores() -> None:
    # trec_eval would break the tie by doc id (descending: "b" first); the run's order stands.
    result = ir_metrics({"q": {"b": 1}}, {"q": [("a", 0.5), ("b", 0.5)]})
    assert result.means["mrr@10"] == pytest.approx(0.5, abs=1e-4)


def test_answer_containment() -> None:
    passages = ["Nothing here.", "Still nothing.", "The  Buffalo\nBILLS won on Sunday."]
    assert contains_answer(passages, ["buffalo bills"]) == {1: False, 5: True, 10: True}
    assert contains_answer(["Netflix renews Squid Game."], ["“Squid Game”"])[1] is True
    assert contains_answer(passages, ["Steelers"]) == {1: False, 5: False, 10: False}
    assert contains_answer(passages, []) == {1: False, 5: False, 10: False}


def test_percentile() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == pytest.approx(25.0)
    assert percentile([1.0] * 19 + [100.0], 95) == pytest.approx(5.95)
    assert percentile([], 95) == 0.0


# --- loading BEIR folders --------------------------------------------------------------------

DOCS = [
    ("d1", "Volcano", "The volcano erupted and lava flowed into the sea near the island."),
    ("d2", "Election", "Voters chose a new mayor in the city election on Tuesday."),
    ("d3", "Football", "The Buffalo Bills won the football game in overtime."),
    ("d4", "Rain", "Heavy rain flooded the streets and closed the schools."),
    ("d5", "Space", "The rocket launched a satellite into orbit around the moon."),
    ("d6", "Markets", "Stock markets fell as interest rates rose again."),
]
QUERIES = [
    {"_id": "1", "text": "Which volcano erupted with lava?", "answers": ["lava"]},
    {"_id": "2", "text": "Which football team won the game?", "answers": ["Buffalo Bills"]},
    {"_id": "3", "text": "What did the rocket launch into orbit?", "choices": ["a", "b"]},
    {"_id": "4", "text": "An unjudged question about markets"},
]


def write_beir(root: Path, header: bool = True) -> Path:
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as f:
        for doc_id, title, text in DOCS:
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (root / "queries.jsonl").open("w") as f:
        f.writelines(json.dumps(q) + "\n" for q in QUERIES)
    lines = ["1\td1\t2", "2\td3\t1", "3\td5\t1", "3\td1\t0"]
    (root / "qrels" / "test.tsv").write_text(
        "\n".join((["query-id\tcorpus-id\tscore"] if header else []) + lines) + "\n"
    )
    return root


@pytest.mark.parametrize("header", [True, False])
def test_load_beir_folder(tmp_path: Path, header: bool) -> None:
    dataset = load_dataset(write_beir(tmp_path / "tiny", header))
    assert dataset.name == "tiny"
    assert dataset.qrels == {"1": {"d1": 2}, "2": {"d3": 1}, "3": {"d5": 1, "d1": 0}}
    assert [q.id for q in dataset.judged()] == ["1", "2", "3"]  # "4" has no qrels: skipped
    assert dataset.queries[1].answers == ("Buffalo Bills",)
    assert dataset.queries[2].raw_answers == {"choices": ["a", "b"]}
    assert dataset.queries[2].answers == ()


def test_user_questions_files(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "tiny")
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        json.dumps({"question": "Where did lava flow?", "answers": ["the sea"], "relevant": ["d1"]})
        + "\n"
        + json.dumps({"_id": "rain", "text": "What closed the schools?"})
        + "\n"
    )
    dataset = load_dataset(root, queries=mine)
    assert [(q.id, q.text) for q in dataset.queries][1] == ("rain", "What closed the schools?")
    assert dataset.qrels["q1"] == {"d1": 1}  # "relevant" ids join the qrels
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("id\tquestion\na\tWhat rose again?\nb\tWho won?\n")
    assert [(q.id, q.text) for q in read_queries(tsv)] == [
        ("a", "What rose again?"),
        ("b", "Who won?"),
    ]


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match=r"corpus\.jsonl not found"):
        load_dataset(tmp_path)
    root = write_beir(tmp_path / "tiny")
    with pytest.raises(EvalError, match=r"qrels file dev\.tsv not found"):
        load_dataset(root, qrels=Path("dev.tsv"))
    (root / "qrels" / "test.tsv").rename(root / "qrels" / "a.tsv")
    (root / "qrels" / "b.tsv").write_text("1\td1\t1\n")
    with pytest.raises(EvalError, match=r"several splits \(a\.tsv, b\.tsv\)"):
        load_dataset(root)
    assert load_dataset(root, qrels=Path("b.tsv")).qrels == {"1": {"d1": 1}}
    (root / "queries.jsonl").unlink()
    with pytest.raises(EvalError, match=r"queries\.jsonl not found"):
        load_dataset(root, qrels=Path("b.tsv"))
    with pytest.raises(EvalError, match="unknown config 'nope'"):
        resolve_configs(["nope"], "dense")
    assert resolve_configs(None, "hybrid") == ["hybrid"]
    assert resolve_configs(["default", "bm25", "hybrid"], "hybrid") == ["hybrid", "bm25"]


def test_scifact_queries_and_qrels_load() -> None:
    root = data_dir() / "scifact"
    if not (root / "qrels" / "test.tsv").is_file():
        pytest.skip(f"SciFact not found at {root} (set CITED_DATA_DIR to the shared data folder)")
    dataset = load_dataset(root)
    assert dataset.qrels_path == root / "qrels" / "test.tsv"
    assert len(dataset.queries) == 1109
    assert len(dataset.judged()) == 300
    assert sum(len(docs) for docs in read_qrels(root / "qrels" / "test.tsv").values()) == 339


# --- end to end with the hashing embedder ----------------------------------------------------

TREC_LINE = re.compile(r"^\S+ Q0 \S+ [1-9]\d* -?\d+\.\d{6} cited-\S+$")


def test_run_and_report_end_to_end(tmp_path: Path) -> None:
    dataset = load_dataset(write_beir(tmp_path / "tiny"))
    embedder, index = HashingEmbedder(), tmp_path / "index"
    result = run_eval(dataset, embedder, configs=["dense", "bm25"], index_dir=index, progress=False)
    out = write_report(result, tmp_path / "out")

    data = json.loads((out / "metrics.json").read_text())
    for key in ("ndcg@10", "recall@10", "recall@100", "mrr@10", "configs", "note"):
        assert key in data
    assert data["ndcg@10"] == data["configs"]["dense"]["ndcg@10"]
    assert set(data["configs"]) == {"dense", "bm25"}
    dense = data["configs"]["dense"]
    assert dense["recall@100"] == 1.0  # 6 documents: every one is in the top 100 passages
    assert 0.0 < dense["ndcg@10"] <= 1.0
    assert {"answer_in_top1", "answer_in_top5", "answer_in_top10"} <= set(dense)
    assert dense["answer_in_top10"] == 1.0  # both queries with answers find them in 6 docs
    assert dense["query_p95_ms"] >= dense["query_p50_ms"] > 0
    assert data["dataset"] == "tiny" and data["model"] == embedder.name
    assert data["queries"]["evaluated"] == 3 and data["queries"]["skipped_without_qrels"] == 1
    assert data["index_build_seconds"] > 0 and data["index_reused"] is False
    assert "best chunk" in data["note"]

    table = (out / "metrics.md").read_text()
    assert "| config | nDCG@10 | R@10 | R@100 | MRR@10 |" in table
    assert re.search(r"^\| dense \| \d\.\d{4} \|", table, re.M)
    assert re.search(r"^\| bm25 \| ", table, re.M)
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for config in ("dense", "bm25"):
        lines = (out / f"run-{config}.trec").read_text().splitlines()
        assert lines and all(TREC_LINE.match(line) for line in lines)
        assert all(line.endswith(f" cited-{config}") for line in lines)
        assert {line.split()[0] for line in lines} <= {"1", "2", "3"}
    first = (out / "run-dense.trec").read_text().splitlines()
    assert [line.split()[3] for line in first if line.startswith("1 ")][:2] == ["1", "2"]

    again = run_eval(dataset, embedder, configs=["dense"], index_dir=index, limit=2, progress=False)
    assert again.index.reused and again.index.seconds == 0.0
    assert again.index.version == result.index.version
    assert [q.id for q in again.queries] == ["1", "2"]


def test_cli(tmp_path: Path) -> None:
    from cited.compose import Parts

    parts = Parts(embedder=HashingEmbedder())
    root = write_beir(tmp_path / "tiny")
    out = tmp_path / "out"
    args = ["--data", str(root), "--index", str(tmp_path / "index"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--config", "dense"], obj=parts)
    assert result.exit_code == 0, result.output
    assert "| dense |" in result.output
    assert json.loads((out / "metrics.json").read_text())["index_reused"] is False
    result = CliRunner().invoke(app, ["retrieval", *args, "--config", "dense"], obj=parts)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["index_reused"] is True

    missing = CliRunner().invoke(app, ["--data", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "error: data folder" in missing.output
    bad = CliRunner().invoke(app, [*args, "--config", "nope"], obj=parts)
    assert bad.exit_code == 2 and "unknown config 'nope'" in bad.output


def test_tune_fusion_grid(tmp_path: Path) -> None:
    from cited.config import Settings
    from eval.tune import settings_line, tune_fusion
    from indexer.build import build_index
    from service.pipeline import Pipeline

    dataset = load_dataset(write_beir(tmp_path / "tiny"))
    embedder, index = HashingEmbedder(), tmp_path / "index"
    build_index([dataset.corpus], index, embedder, progress=False)
    pipeline = Pipeline.open(Settings.of(index_dir=index), embedder)
    before = pipeline.retriever.fusion
    points = tune_fusion(
        dataset, pipeline, dense_weights=(0.5, 1.0, 2.0), rrf_ks=(10, 60), progress=False
    )
    assert len(points) == 6
    assert {(p.dense_weight, p.rrf_k) for p in points} == {
        (w, k) for w in (0.5, 1.0, 2.0) for k in (10, 60)
    }
    assert [p.ndcg10 for p in points] == sorted((p.ndcg10 for p in points), reverse=True)
    assert all(0.0 < p.ndcg10 <= 1.0 for p in points)
    assert pipeline.retriever.fusion == before  # the service's settings are left as they were
    assert settings_line(points[0]).startswith("CITED_DENSE_WEIGHT=")


def test_tune_fusion_fits_the_second_stage_weight(tmp_path: Path) -> None:
    from cited.config import Settings
    from eval.tune import settings_line, tune_fusion
    from indexer.build import build_with_settings
    from indexer.second_stage import StoredVectorSecondStage
    from service.pipeline import Pipeline
    from tests.fakes import KeywordEncoder

    dataset = load_dataset(write_beir(tmp_path / "tiny"))
    embedder, encoder = HashingEmbedder(), KeywordEncoder(("wheat", "rates", "floods"))
    settings = Settings.of(index_dir=tmp_path / "index", reranker="none")
    second_stage = StoredVectorSecondStage(encoder)
    build_with_settings(
        [dataset.corpus], settings.index.index_dir, embedder, settings, progress=False,
        second_stage=second_stage,
    )  # fmt: skip
    pipeline = Pipeline.open(settings, embedder, second_stage=second_stage)
    points = tune_fusion(
        dataset, pipeline, rrf_ks=(10, 60), rerank=True, rerank_weights=(0.0, 2.0),
        progress=False,
    )  # fmt: skip
    assert {(p.rerank_weight, p.rrf_k, p.dense_weight) for p in points} == {
        (w, k, 1.0) for w in (0.0, 2.0) for k in (10, 60)
    }
    assert "CITED_RERANK_WEIGHT=" in settings_line(points[0], rerank=True)
    plain = Pipeline.open(settings, embedder)  # no second stage: the mode is refused
    with pytest.raises(UnknownModeError, match="hybrid\\+rerank"):
        tune_fusion(dataset, plain, rerank=True, progress=False)


def test_cited_eval_runs_the_eval_package(tmp_path: Path) -> None:
    """`cited eval` is eval's own command line, mounted in process."""
    from cited.cli import app as cited_app

    done = CliRunner().invoke(cited_app, ["eval", "--data", str(tmp_path / "nope")])
    assert done.exit_code == 2
    assert "error: data folder" in done.output
