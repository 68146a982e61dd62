"""An HTTP proxy between the operator and an AWS endpoint (the emulator, moto).

It records every JSON-protocol call (operation from X-Amz-Target, User-Agent,
parameters, answer status), so a test can assert which calls the operator made
per resource. It can also hold the calls of one operation: they wait in the proxy,
unsent, while the test kills the operator, which is how a test puts a crash
exactly between two calls. Holding `ALL` makes the service hang: connections are
accepted and never answered, as when AWS does not answer.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPERATOR_USER_AGENT = "sagemaker-llm-operator/"
WRITE_PREFIXES = ("Create", "Update", "Delete", "AddTags", "Put", "Register", "Deregister")
NEVER_SENT = 0  # the status of a call the proxy held and dropped
ALL = "*"  # hold(ALL): every call waits (the service hangs)


@dataclass(frozen=True)
class Call:
    operation: str
    user_agent: str
    params: dict[str, Any]
    status: int

    @property
    def by_operator(self) -> bool:
        return OPERATOR_USER_AGENT in self.user_agent

    @property
    def is_write(self) -> bool:
        return self.operation.startswith(WRITE_PREFIXES)

    def __str__(self) -> str:
        names = {
            k: v
            for k, v in strings(self.params)
            if k.endswith(("Name", "Id")) or k in ("ResourceArn", "ResourceARN")
        }
        who = "operator" if self.by_operator else "test"
        return f"{who}: {self.operation} {names} -> {self.status}"


def strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a request, with the member name it sits under."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, key)


class RecordingProxy:
    """Forwards to `upstream`, recording each call; see the module docstring."""

    def __init__(self, upstream: str):
        parts = urllib.parse.urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._holding: str | None = None
        self._held = 0
        self._released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                proxy._forward(self, "POST")

            def do_GET(self) -> None:
                proxy._forward(self, "GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.drop_held()
        self._server.shutdown()
        self._server.server_close()

    # -- holding -------------------------------------------------------------------

    def hold(self, operation: str) -> None:
        """From now on, calls of `operation` (any call, for `ALL`) wait in the proxy, unsent."""
        with self._lock:
            self._holding = operation
            self._released.clear()

    def held(self) -> int:
        """How many calls wait in the proxy now."""
        with self._lock:
            return self._held

    def drop_held(self) -> None:
        """Stops holding; the waiting calls are never sent (their connections close)."""
        with self._lock:
            self._holding = None
            self._released.set()

    # -- records -------------------------------------------------------------------

    def mark(self) -> int:
        with self._lock:
            return len(self._calls)

    def calls(self, since: int = 0) -> list[Call]:
        with self._lock:
            return self._calls[since:]

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, status: int) -> None:
        target = handler.headers.get("X-Amz-Target") or ""
        if not target:
            return
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        call = Call(
            target.rpartition(".")[2],
            handler.headers.get("User-Agent") or "",
            params if isinstance(params, dict) else {},
            status,
        )
        with self._lock:
            self._calls.append(call)

    def _forward(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        operation = (handler.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        with self._lock:
            hold = operation != "" and self._holding in (operation, ALL)
            self._held += hold
        if hold:
            self._released.wait()
            with self._lock:
                self._held -= 1
            self._record(handler, body, NEVER_SENT)
            handler.close_connection = True
            return
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in ("connection", "host")
        }
        upstream = http.client.HTTPConnection(*self._upstream, timeout=120)
        try:
            upstream.request(method, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            answer = response.read()
            answer_headers = response.getheaders()
        finally:
            upstream.close()
        self._record(handler, body, response.status)
        handler.send_response(response.status)
        for key, value in answer_headers:
            if key.lower() not in ("content-length", "connection", "date", "server"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)
