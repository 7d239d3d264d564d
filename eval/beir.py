"""Evaluation sets in BEIR layout, and a user's own questions file.

A BEIR folder holds ``corpus.jsonl`` (indexed by the project's own reader, so only its path is
kept here), ``queries.jsonl`` (``_id``, ``text`` and any other fields) and ``qrels/<split>.tsv``
(``query-id<TAB>corpus-id<TAB>score``, header line optional). ``--queries FILE`` replaces
``queries.jsonl`` with a ``.jsonl`` of ``{"_id"?, "text"|"question", "answers"?, "relevant"?}``
or a ``.tsv`` of ``id<TAB>question``; ``relevant`` document ids count as qrels of score 1.
A query's ``as_of`` or ``question_date`` is when it was asked: eval asks it as of then.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.errors import CitedError
from service.time.as_of import InvalidAsOfError, parse_as_of

logger = logging.getLogger(__name__)

#: Query fields kept raw as possible answers (``answers`` and ``answer`` feed containment).
ANSWER_FIELDS = ("answers", "answer", "choices", "answer_text", "gold_answers")
ANSWER_SOURCES = ("answers", "answer", "answer_text", "gold_answers")
#: Query fields that say when the question was asked, in order of preference.
DATE_FIELDS = ("as_of", "question_date")


class EvalError(CitedError):
    """An evaluation set or option is unusable; the message names the file and what it needs."""


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    #: Answer-like fields exactly as the file gives them.
    raw_answers: dict[str, Any] = field(default_factory=dict)
    #: Relevant document ids given with the question itself (user files), score 1.
    relevant: tuple[str, ...] = ()
    #: When the question was asked (``as_of`` or ``question_date``, ISO): None when not given.
    as_of: str | None = None

    @property
    def answers(self) -> tuple[str, ...]:
        """The answer strings for containment: ``answers``/``answer`` as strings or lists."""
        found: list[str] = []
        for key in ANSWER_SOURCES:
            found.extend(_strings(self.raw_answers.get(key)))
        return tuple(dict.fromkeys(a for a in found if a.strip()))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):  # SQuAD style: {"text": [...], "answer_start": [...]}
        return _strings(value.get("text"))
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


Qrels = dict[str, dict[str, int]]


@dataclass
class Dataset:
    name: str
    root: Path
    corpus: Path
    queries_path: Path
    queries: list[Query]
    qrels: Qrels
    qrels_path: Path | None

    def judged(self) -> list[Query]:
        """Queries with at least one relevance judgement, in file order."""
        return [q for q in self.queries if self.qrels.get(q.id)]


def read_queries(path: Path) -> list[Query]:
    """Queries from BEIR ``queries.jsonl``, a user's ``.jsonl``, or an ``id<TAB>question`` tsv."""
    if not path.is_file():
        raise EvalError(f"queries file {path} not found: expected JSON lines with '_id' and 'text'")
    if path.suffix.lower() == ".tsv":
        return _read_tsv_queries(path)
    queries: list[Query] = []
    with path.open(encoding="utf-8-sig") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise EvalError(f"{path}:{lineno}: expected a JSON object")
            text = record.get("text", record.get("question"))
            if not isinstance(text, str) or not text.strip():
                raise EvalError(f"{path}:{lineno}: expected a non-empty 'text' or 'question'")
            relevant = record.get("relevant", [])
            if not isinstance(relevant, list):
                raise EvalError(f"{path}:{lineno}: 'relevant' must be a list of document ids")
            as_of = _as_of(record, f"{path}:{lineno}")
            queries.append(
                Query(
                    id=str(record.get("_id", record.get("id", f"q{len(queries) + 1}"))),
                    text=text,
                    raw_answers={k: record[k] for k in ANSWER_FIELDS if k in record},
                    relevant=tuple(str(doc) for doc in relevant),
                    as_of=as_of,
                )
            )
    return queries


def _as_of(record: dict[str, Any], where: str) -> str | None:
    """The question's time: ``as_of``, else ``question_date`` (``2022/06/16`` reads as
    ``2022-06-16``), checked; None when the record has neither."""
    for key in DATE_FIELDS:
        value = record.get(key)
        if value is None or value == "":
            continue
        text = value.strip().replace("/", "-") if isinstance(value, str) else value
        try:
            parse_as_of(text)
        except (InvalidAsOfError, AttributeError, TypeError):
            raise EvalError(
                f"{where}: {key} {value!r} is not an ISO date or datetime (e.g. 2022-06-16)"
            ) from None
        return str(text)
    return None


def _read_tsv_queries(path: Path) -> list[Query]:
    queries: list[Query] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for lineno, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or not row[1].strip():
                raise EvalError(f"{path}:{lineno}: expected 'id<TAB>question'")
            if lineno == 1 and row[0].strip().lower() in ("id", "_id", "query-id", "qid"):
                continue
            queries.append(Query(id=row[0].strip(), text=row[1].strip()))
    return queries


def read_qrels(path: Path) -> Qrels:
    """``query-id<TAB>corpus-id<TAB>score`` lines; a header line is optional."""
    if not path.is_file():
        raise EvalError(f"qrels file {path} not found: expected 'query-id<TAB>corpus-id<TAB>score'")
    qrels: Qrels = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for lineno, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise EvalError(f"{path}:{lineno}: expected 3 tab-separated columns, got {row!r}")
            try:
                score = int(float(row[2]))
            except ValueError:
                if lineno == 1:
                    continue  # the header
                raise EvalError(f"{path}:{lineno}: score {row[2]!r} is not a number") from None
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = score
    return qrels


def find_qrels(root: Path, qrels: Path | None) -> Path | None:
    """``qrels`` as given, else ``qrels/test.tsv``, else the only ``qrels/*.tsv`` (or None)."""
    if qrels is not None:
        candidates = [qrels, root / qrels, root / "qrels" / qrels]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise EvalError(f"qrels file {qrels} not found (also looked under {root / 'qrels'})")
        return found
    folder = root / "qrels"
    if (folder / "test.tsv").is_file():
        return folder / "test.tsv"
    tsvs = sorted(folder.glob("*.tsv")) if folder.is_dir() else []
    if len(tsvs) > 1:
        names = ", ".join(p.name for p in tsvs)
        raise EvalError(
            f"{folder} has no test.tsv and several splits ({names}): pick one (--qrels)"
        )
    return tsvs[0] if tsvs else None


def load_dataset(root: Path, *, qrels: Path | None = None, queries: Path | None = None) -> Dataset:
    """A BEIR folder, with optional qrels split and queries file overrides."""
    if not root.is_dir():
        raise EvalError(f"data folder {root} not found: expected a BEIR folder with corpus.jsonl")
    corpus = root / "corpus.jsonl"
    if not corpus.is_file():
        raise EvalError(f"{corpus} not found: expected the BEIR corpus (one article per line)")
    queries_path = queries or root / "queries.jsonl"
    loaded = read_queries(queries_path)
    qrels_path = find_qrels(root, qrels)
    judgements = read_qrels(qrels_path) if qrels_path else {}
    for query in loaded:
        for doc in query.relevant:
            judgements.setdefault(query.id, {}).setdefault(doc, 1)
    if not judgements and not any(q.answers for q in loaded):
        raise EvalError(
            f"nothing to measure in {root}: no qrels/*.tsv and no query carries "
            "'relevant' document ids or 'answers'"
        )
    dataset = Dataset(
        root.resolve().name, root, corpus, queries_path, loaded, judgements, qrels_path
    )
    logger.info(
        "%s: %d queries, %d with qrels (%d skipped for IR metrics)",
        dataset.name,
        len(loaded),
        len(dataset.judged()),
        len(loaded) - len(dataset.judged()),
    )
    return dataset
