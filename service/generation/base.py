"""The generator interface: chat messages in, answer text out (whole, or piece by piece)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

#: One OpenAI-shaped chat message: ``{"role": "system" | "user" | "assistant", "content": ...}``.
Message = dict[str, str]


class GenerationError(RuntimeError):
    """The generator failed (endpoint unreachable, bad response, model error, timeout)."""


class Generator(ABC):
    """Writes an answer from a prompt; every sentence it writes is verified before use."""

    #: The ``CITED_GENERATOR`` value this generator implements (``local``, ``openai``).
    name: str = "generator"

    @abstractmethod
    def generate(self, messages: list[Message]) -> str:
        """The whole reply to ``messages``; raises :class:`GenerationError`."""

    @abstractmethod
    def stream(self, messages: list[Message]) -> Iterator[str]:
        """The reply to ``messages`` in pieces as they are generated; raises
        :class:`GenerationError`."""

    def chat_body(self, messages: list[Message], stream: bool, max_tokens: int) -> dict[str, Any]:
        """The OpenAI-shaped chat request both backends send (greedy, bounded)."""
        return {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": stream,
        }

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model or connections (default: nothing to release)."""
