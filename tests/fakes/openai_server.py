"""A scriptable fake LLM server on loopback: OpenAI chat completions and Ollama's /api/chat.

It speaks the real wire protocols, so the real client libraries (``openai`` via ``langchain-openai``,
``ollama`` via ``langchain-ollama``) can be tested against it:

- ``POST /v1/chat/completions``: a ``chat.completion`` JSON object, or SSE ``chat.completion.chunk``
  events ending with ``data: [DONE]`` when the request has ``"stream": true``.
- ``POST /api/chat``: one JSON object when ``"stream": false``, otherwise NDJSON lines (Ollama streams
  by default, and so does ``ChatOllama``).

Usage::

    with FakeOpenAIServer() as srv:
        srv.enqueue(FakeReply("Sí, puede participar [1]."))
        ...  # point a client at srv.base_url ("http://127.0.0.1:PORT/v1") or srv.ollama_url
        srv.requests[0].json["messages"]

Each request takes the next queued reply; with an empty queue, ``srv.responder(request)`` decides
(by default a fixed text). Every request is recorded, whatever the reply.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

DEFAULT_TEXT = "Respuesta de prueba [1]."


@dataclass
class FakeReply:
    """What the server answers to one request."""

    content: str = DEFAULT_TEXT
    status: int = 200
    delay: float = 0.0  # seconds to wait before sending anything (to trigger client timeouts)
    raw_body: bytes | None = None  # sent verbatim instead of a well-formed body (malformed JSON...)
    finish_reason: str = "stop"  # OpenAI finish_reason / Ollama done_reason
    chunk_size: int = 8  # characters per streamed piece (SSE / NDJSON)
    chunk_delay: float = 0.0  # seconds between streamed pieces


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.json or {}).get("messages", []))

    def message_text(self, role: str) -> str:
        """All text content sent with ``role``, joined (content may be a string or a list of parts)."""
        parts: list[str] = []
        for message in self.messages:
            if message.get("role") != role:
                continue
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
        return "\n".join(parts)


@dataclass
class _State:
    replies: queue.Queue[FakeReply] = field(default_factory=queue.Queue)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    connections: set[socket.socket] = field(default_factory=set)
    responder: Callable[[RecordedRequest], FakeReply] = field(default=lambda _req: FakeReply())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLLM/1.0"
    timeout = 30  # idle keep-alive connections do not outlive a test run
    state: _State  # set on the subclass built per server

    def setup(self) -> None:
        super().setup()
        with self.state.lock:
            self.state.connections.add(self.connection)

    def finish(self) -> None:
        with self.state.lock:
            self.state.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    # --- dispatch -------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path in ("/", "/api/version"):
            self._send_json(200, {"version": "0.0.0-fake"})
        else:
            self._send_json(404, {"error": f"not found: {self.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        request = RecordedRequest(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            json=payload,
        )
        with self.state.lock:
            self.state.requests.append(request)
        try:
            reply = self.state.replies.get_nowait()
        except queue.Empty:
            reply = self.state.responder(request)

        if reply.delay and self.state.closing.wait(reply.delay):
            return  # the server is shutting down: drop the request
        try:
            self._reply(request, reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (timeout): nothing to do

    def _reply(self, request: RecordedRequest, reply: FakeReply) -> None:
        path = request.path.split("?", 1)[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions", "/api/chat"):
            self._send_json(404, {"error": f"not found: {request.path}"})
            return
        if reply.raw_body is not None:
            self._send_bytes(reply.status, reply.raw_body, "application/json")
            return
        is_ollama = path == "/api/chat"
        if reply.status != 200:
            error = (
                {"error": "fake server error"}
                if is_ollama
                else {"error": {"message": "fake server error", "type": "server_error", "code": None}}
            )
            self._send_json(reply.status, error)
            return
        data = request.json if isinstance(request.json, dict) else {}
        model = str(data.get("model") or "fake-model")
        if is_ollama:
            if data.get("stream", True):
                self._ollama_stream(model, reply)
            else:
                self._send_json(200, _ollama_message(model, reply.content, done=True, reply=reply))
        elif data.get("stream"):
            self._openai_stream(model, reply, data)
        else:
            self._send_json(200, _openai_completion(model, reply))

    # --- streaming ------------------------------------------------------------------------
    def _ollama_stream(self, model: str, reply: FakeReply) -> None:
        self._start_chunked("application/x-ndjson")
        for piece in _pieces(reply.content, reply.chunk_size):
            self._write_chunk(json.dumps(_ollama_message(model, piece, done=False)) + "\n", reply)
        self._write_chunk(json.dumps(_ollama_message(model, "", done=True, reply=reply)) + "\n", reply)
        self._end_chunked()

    def _openai_stream(self, model: str, reply: FakeReply, data: dict[str, Any]) -> None:
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def event(delta: dict[str, Any], finish: str | None, usage: Any = None) -> str:
            chunk: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage is not None:
                chunk["usage"] = usage
            return f"data: {json.dumps(chunk)}\n\n"

        self._start_chunked("text/event-stream")
        self._write_chunk(event({"role": "assistant", "content": ""}, None), reply)
        for piece in _pieces(reply.content, reply.chunk_size):
            self._write_chunk(event({"content": piece}, None), reply)
        self._write_chunk(event({}, reply.finish_reason), reply)
        if (data.get("stream_options") or {}).get("include_usage"):
            usage_chunk = json.loads(event({}, None, _usage(reply.content))[6:])
            usage_chunk["choices"] = []
            self._write_chunk(f"data: {json.dumps(usage_chunk)}\n\n", reply)
        self._write_chunk("data: [DONE]\n\n", reply)
        self._end_chunked()

    # --- low level ------------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any) -> None:
        self._send_bytes(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _write_chunk(self, text: str, reply: FakeReply) -> None:
        if reply.chunk_delay and self.state.closing.wait(reply.chunk_delay):
            raise ConnectionAbortedError("fake server closing")
        data = text.encode("utf-8")
        self.wfile.write(f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _usage(content: str) -> dict[str, int]:
    completion = max(1, len(content) // 4)
    return {"prompt_tokens": 100, "completion_tokens": completion, "total_tokens": 100 + completion}


def _openai_completion(model: str, reply: FakeReply) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": _usage(reply.content),
    }


def _ollama_message(
    model: str, content: str, *, done: bool, reply: FakeReply | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "model": model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done and reply is not None:
        message.update(
            done_reason=reply.finish_reason,
            total_duration=1_000_000,
            load_duration=1_000,
            prompt_eval_count=100,
            prompt_eval_duration=100_000,
            eval_count=max(1, len(reply.content) // 4),
            eval_duration=500_000,
        )
    return message


class FakeOpenAIServer:
    """Run the fake on a free loopback port in a background thread (a context manager)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._state = _State()
        handler = type("_BoundHandler", (_Handler,), {"state": self._state})
        self._httpd = ThreadingHTTPServer((host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm", daemon=True
        )
        self.host = host
        self.port = int(self._httpd.server_address[1])

    # --- scripting ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (clients append ``/chat/completions``)."""
        return f"{self.url}/v1"

    @property
    def ollama_url(self) -> str:
        """Ollama-style base URL (clients append ``/api/chat``)."""
        return self.url

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def enqueue(self, *replies: FakeReply | str) -> None:
        """Queue replies, taken one per request in order (a string is a 200 reply with that text)."""
        for reply in replies:
            self._state.replies.put(FakeReply(reply) if isinstance(reply, str) else reply)

    def set_responder(self, responder: Callable[[RecordedRequest], FakeReply]) -> None:
        """Decide the reply of every request that finds the queue empty."""
        self._state.responder = responder

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._state.closing.set()  # wakes handlers sleeping on a delay
        self._httpd.shutdown()
        with self._state.lock:
            connections = list(self._state.connections)
        for conn in connections:  # wakes handlers blocked on idle keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
