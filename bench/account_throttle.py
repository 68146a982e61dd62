"""A proxy in front of the emulator (SageMaker) and its moto (STS) that throttles one account.

The benchmark spreads LLMEndpoints over several AWS accounts (namespaces mapped
to roles); this proxy learns which access key moto's STS issued for which
role's account (from the AssumeRole requests and answers it forwards) and
answers that fraction of one account's SageMaker calls with the
ThrottlingException SageMaker sends, counting calls and throttles per account.
So the benchmark can show whether one throttled account slows the others.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ROLE_ACCOUNT = re.compile(r"arn(?:%3A|:)aws(?:%3A|:)iam(?:%3A|:)(?:%3A|:)([0-9]{12})")
_ACCESS_KEY = re.compile(rb"<AccessKeyId>([A-Z0-9]+)</AccessKeyId>")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class AccountThrottle:
    """Serves on a free loopback port; `url` goes into AWS_ENDPOINT_URL_SAGEMAKER and _STS."""

    def __init__(self, sagemaker_url: str, sts_url: str, seed: int = 7) -> None:
        self.targets = {"sagemaker": sagemaker_url, "sts": sts_url}
        self.accounts: dict[str, str] = {}  # access key -> account
        self.throttled_account: str | None = None
        self.rate = 0.0
        self.calls: Counter[str] = Counter()
        self.throttles: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                proxy.handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AccountThrottle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def throttle(self, account: str | None, rate: float) -> None:
        with self._lock:
            self.throttled_account, self.rate = account, rate

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        is_sts = b"Action=AssumeRole" in body
        account = None
        if not is_sts:
            match = _CREDENTIAL.search(request.headers.get("Authorization") or "")
            with self._lock:
                account = self.accounts.get(match.group(1)) if match else None
                if account is not None:
                    self.calls[account] += 1
                throttle = (
                    account is not None
                    and account == self.throttled_account
                    and self._random.random() < self.rate
                )
                if throttle:
                    self.throttles[account] += 1  # type: ignore[index]
            if throttle:
                payload = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
                request.send_response(400)
                request.send_header("Content-Type", "application/x-amz-json-1.1")
                request.send_header("Content-Length", str(len(payload)))
                request.end_headers()
                request.wfile.write(payload)
                return
        target = urllib.parse.urlsplit(self.targets["sts" if is_sts else "sagemaker"])
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        connection.request("POST", request.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        connection.close()
        if is_sts:
            role = _ROLE_ACCOUNT.search(body.decode(errors="replace"))
            key = _ACCESS_KEY.search(data)
            if role and key:
                with self._lock:
                    self.accounts[key.group(1).decode()] = role.group(1)
        request.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
