"""Short answers: question types, typed spans, verification, and the seed questions end to end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cited.config import Settings
from indexer.embedders.base import Embedder, TextEncoder
from indexer.second_stage import StoredVectorSecondStage
from service.answering.base import ShortAnswer
from service.answering.short import question_type, short_span
from service.app import create_app
from service.citations import short_answer_problem, verify_answer
from service.pipeline import Pipeline
from tests.conftest import SEED, SEED_QUESTION
from tests.test_citations import pipeline  # noqa: F401  (fixture)

LI_SENTENCE = "Li became defence minister in March."
AUSTIN_SENTENCE = (
    "US defence secretary Lloyd Austin wants to meet Li Shangfu, China's new defence minister, "
    "at the Shangri-La Dialogue security forum in Singapore in June."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Li become defence minister?", "date"),
        ("What year did the war end?", "date"),
        ("How soon could the vaccines be available?", "date"),
        ("Who is China's new defence minister?", "person"),
        ("Whose idea was it?", "person"),
        ("How many goals did he score?", "number"),
        ("What percentage of voters agreed?", "number"),
        ("Where is the forum held?", "place"),
        ("In which city is the forum held?", "place"),
        ("Which team won?", "entity"),
        ("What is the main export?", "thing"),
        ("Why is a meeting unlikely?", None),
        ("How did the talks go?", None),
    ],
)
def test_question_types(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("When did Li become defence minister?", LI_SENTENCE, "March"),
        ("Who is China's new defence minister?", AUSTIN_SENTENCE, "Li Shangfu"),
        ("Where is the Shangri-La Dialogue held?", AUSTIN_SENTENCE, "Singapore"),
        ("How many goals did Messi score?", "Messi scored seven goals at the World Cup.", "seven"),
        (
            "What was the average cost of a 30-second commercial?",
            "CBS charged an average of $5 million for a 30-second commercial during the game.",
            "$5 million",
        ),
        (
            "What day was the game played?",
            "The game was played on February 7, 2016, at Levi's Stadium.",
            "February 7, 2016",
        ),
        (
            "Who did Denver beat in the AFC Championship?",
            "Denver defeated the New England Patriots in the AFC Championship Game.",
            "New England Patriots",
        ),
        (
            "Which NFL team won the title?",
            "The National Football League title went to the Denver Broncos.",
            "Denver Broncos",
        ),
    ],
)
def test_short_span_finds_the_asked_for_span(question: str, sentence: str, expected: str) -> None:
    span = short_span(question, sentence)
    assert span is not None and sentence[span[0] : span[1]] == expected


#: Sentences whose words hold more than one content term ("103.5 FM", "16–7", "psalm-hymns"):
#: the short answer once depended on the order a set of terms came out in (the hash seed).
HASH_SENSITIVE = [
    (
        "What radio station is located at 103.5FM on the dial in Denver?",
        "In Denver, KOA (850 AM) and KRFX (103.5 FM) will carry the game, with Dave Logan on "
        "play-by-play and Ed McCaffrey on color commentary.",
    ),
    (
        "How many yards was the missed field goal?",
        "After the miss, Manning completed a pair of passes to Emmanuel Sanders for gains of 25 "
        "and 22 yards, setting up McManus' 33-yard field goal that gave the Broncos a 16–7 lead.",
    ),
    (
        "What did Luther use the hymn to encourage colleagues to do?",
        "He sent it as a sample to encourage evangelical colleagues to write psalm-hymns for use "
        "in German worship.",
    ),
]


def test_short_answers_do_not_depend_on_the_hash_seed() -> None:
    """The same question and sentence give the same short answer in every process."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from service.answering.short import short_span\n"
        "cases = json.loads(sys.stdin.read())\n"
        "print(json.dumps([short_span(q, s) for q, s in cases]))\n"
    )
    root = Path(__file__).resolve().parent.parent
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            cwd=root,
        )
        for seed in ("0", "1", "2", "3")
    ]
    answers = {run.communicate(json.dumps(HASH_SENSITIVE), timeout=120)[0] for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert len(answers) == 1, answers


def test_no_short_answer_for_why_or_without_a_typed_span() -> None:
    assert short_span(SEED_QUESTION, "China has told the US there is little chance.") is None
    assert short_span("How many goals did Messi score?", "Messi played very well.") is None
    # A span made only of the question's own words is never the answer.
    assert short_span("Who is Li Shangfu?", "Li Shangfu met them.") is None


def test_short_answer_outside_the_citations_or_edited_is_dropped(pipeline: Pipeline) -> None:  # noqa: F811
    result = pipeline.ask("Who said the bank would act?")
    answer, citation = result.answer, result.answer.citations[0]
    text = pipeline.index.article(citation.article_id).text
    start = citation.start + citation.quote.index("bank")
    good = ShortAnswer("bank", citation.article_id, start, start + 4)
    assert short_answer_problem(good, pipeline.index, answer.citations) is None
    kept = verify_answer(replace(answer, short_answer=good), pipeline.index, result.retrieval)
    assert kept.short_answer == good
    outside = len(text) - 4
    broken = [
        replace(good, start=start + 1, end=start + 5),  # offsets moved: not verbatim any more
        replace(good, text="fund"),  # edited text
        ShortAnswer(text[outside:], citation.article_id, outside, len(text)),  # not cited
    ]
    for short in broken:
        assert short_answer_problem(short, pipeline.index, answer.citations), short
        checked = verify_answer(
            replace(answer, short_answer=short), pipeline.index, result.retrieval
        )
        assert checked.short_answer is None and not checked.abstained and checked.citations


@pytest.fixture(scope="module")
def client(seed_index: Path, real_embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(Settings.of(index_dir=seed_index), embedder=real_embedder)) as c:
        yield c


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did Li become defence minister?", "March"),
        ("Who is China's new defence minister?", "Li Shangfu"),
        (SEED_QUESTION, None),
        ("How many goals did Lionel Messi score at the 2022 World Cup?", None),
    ],
)
def test_seed_questions_short_answers(client: TestClient, question: str, expected: str) -> None:
    body = client.post("/ask", json={"question": question}).json()
    short = body["short_answer"]
    if expected is None:
        assert short is None
        return
    assert body["abstained"] is False and short["text"] == expected, body
    article = client.get(f"/articles/{short['article_id']}").json()["text"]
    assert article[short["start"] : short["end"]] == expected
    first = body["citations"][0]
    assert short["article_id"] == first["article_id"] == SEED.stem
    assert first["start"] <= short["start"] and short["end"] <= first["end"]


@pytest.mark.slow
def test_cli_ask_prints_the_short_answer(
    seed_index: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    from cited.compose import Parts
    from service.cli import app

    settings = Settings.of(index_dir=seed_index)
    parts = Parts(
        settings, embedder=real_embedder, second_stage=StoredVectorSecondStage(second_stage)
    )
    question = "When did Li become defence minister?"
    result = CliRunner().invoke(app, ["ask", question], obj=parts)
    assert result.exit_code == 0, result.output
    assert "Li became defence minister in March. [1]" in result.output
    assert "Short answer: March" in result.output


def test_question_sentences_are_never_answers() -> None:
    from service.answering.candidates import candidates, is_question
    from service.retrieval import Passage

    assert is_question("Will they blame the US or China?")
    assert is_question("\u201cThe question is, will they blame the US or China?\u201d")
    assert not is_question("He asked why. Nobody knew.")
    text = (
        "Which show was green lit for a new season? Netflix renewed Squid Game for a second season."
    )
    passage = Passage(1, 1, "a", "T", 100, 100 + len(text), text, 1.0, similarity=0.5)
    found = candidates([passage])
    assert [c.text for c in found] == ["Netflix renewed Squid Game for a second season."]
    assert found[0].start == 100 + text.index("Netflix")
