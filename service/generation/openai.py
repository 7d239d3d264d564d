"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, OpenAI) over httpx.

Non-streaming replies come from ``POST {base_url}/chat/completions``; streaming replies are
server-sent events whose ``data:`` lines carry ``chat.completion.chunk`` objects, ending with
``data: [DONE]``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx

from cited.config import GeneratorSettings, default_of
from service.generation.base import GenerationError, Generator, Message

logger = logging.getLogger(__name__)


class OpenAIGenerator(Generator):
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_tokens: int = default_of(GeneratorSettings, "max_tokens"),
        timeout_s: float = default_of(GeneratorSettings, "timeout_s"),
        client: httpx.Client | None = None,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout_s, headers=headers)
        self._owns_client = client is None
        logger.info("openai-compatible generator: model %s at %s", model, self.url)

    def _body(self, messages: list[Message], stream: bool) -> dict[str, Any]:
        return {"model": self.model, **self.chat_body(messages, stream, self.max_tokens)}

    def generate(self, messages: list[Message]) -> str:
        try:
            response = self._client.post(self.url, json=self._body(messages, False))
            response.raise_for_status()
            data = response.json()
            return str(data["choices"][0]["message"].get("content") or "")
        except httpx.HTTPError as exc:
            raise GenerationError(f"{self.url}: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationError(f"{self.url}: unexpected response ({exc!r})") from exc

    def stream(self, messages: list[Message]) -> Iterator[str]:
        try:
            with self._client.stream("POST", self.url, json=self._body(messages, True)) as reply:
                if reply.status_code >= 400:
                    reply.read()
                    raise GenerationError(
                        f"{self.url}: HTTP {reply.status_code}: {reply.text[:200]}"
                    )
                for line in reply.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[len("data:") :].strip()
                    if payload == "[DONE]":
                        break
                    yield from _chunk_pieces(json.loads(payload))
        except httpx.HTTPError as exc:
            raise GenerationError(f"{self.url}: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise GenerationError(f"{self.url}: unexpected stream data ({exc!r})") from exc

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _chunk_pieces(chunk: dict[str, Any]) -> Iterator[str]:
    if "error" in chunk:
        raise GenerationError(f"stream error: {chunk['error']}")
    for choice in chunk.get("choices", []):
        content = (choice.get("delta") or {}).get("content")
        if content:
            yield str(content)
