"""The HTTP server: SageMaker's JSON 1.1 API, InvokeEndpoint and the admin API on one port."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from . import admin_api, audit
from .autoscaling import Autoscaler
from .caller import Caller
from .errors import AwsError, internal, throttled
from .eventstream import event_message
from .load import Target
from .moto_sidecar import MotoSidecar
from .operations import COMPLETERS, OPERATIONS
from .pacing import seconds_per_token
from .resources.common import Context
from .runtime import COMPONENT_HEADER, Invocation, ModelError, NoCapacity, invoke
from .state import Store
from .validation import validate
from .wire import (
    JSON_CONTENT_TYPE,
    UnsignedRequest,
    caller_from_authorization,
    encode,
    error_body,
    request_id,
    require_signature,
)

_READ_ONLY = ("Describe", "List", "Search")
STREAM_SUFFIX = "/invocations-response-stream"
ASYNC_SUFFIX = "/async-invocations"
SAVE_INTERVAL = 0.5
CATCH_UP_INTERVAL = 0.1  # with moto: how often the clock is caught up unasked (alarms, activities)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing ---------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str = JSON_CONTENT_TYPE, **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", request_id())
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, error: AwsError, runtime: bool = False) -> None:
        if isinstance(error, UnsignedRequest):
            self._send(error.status, error.body(), x_amzn_ErrorType=error.error_type)
            return
        extra = {"x_amzn_ErrorType": error.code} if runtime else {}
        body = error.body() if isinstance(error, ModelError) else None
        self._send(error.status, body or error_body(error.code, error.message), **extra)

    # -- routes -----------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        body = self._body()
        path, _, query = self.path.partition("?")
        try:
            if path.startswith(admin_api.PREFIX):
                self._admin(method, path, body, query)
            elif method == "POST" and path == "/" and self.headers.get("X-Amz-Target"):
                self._api(body)
            elif (
                method == "POST" and path.startswith("/endpoints/") and path.endswith(ASYNC_SUFFIX)
            ):
                self._invoke_async(unquote(path[len("/endpoints/") : -len(ASYNC_SUFFIX)]), body)
            elif (
                method == "POST"
                and path.startswith("/endpoints/")
                and path.endswith(("/invocations", STREAM_SUFFIX))
            ):
                stream = path.endswith(STREAM_SUFFIX)
                suffix = STREAM_SUFFIX if stream else "/invocations"
                self._invoke(unquote(path[len("/endpoints/") : -len(suffix)]), body, stream)
            else:
                self._send_error(
                    AwsError("UnknownOperationException", f"No route for {method} {path}", 404)
                )
        except Exception:  # never a traceback on the wire; the emulator's own log keeps it
            with self.server.store.lock:
                self.server.store.errors += 1
            traceback.print_exc(file=sys.stderr)
            self._send_error(internal())

    def _faults(self, operation: str) -> None:
        store = self.server.store
        with store.lock:
            store.calls[operation] += 1
            faults = store.faults
            if not faults.applies_to(operation):
                return
            latency = faults.latency_seconds
            throttle = faults.roll(faults.throttle_rate)
            failure = not throttle and faults.roll(faults.internal_error_rate)
        if latency:
            time.sleep(latency)
        if throttle:
            raise throttled()
        if failure:
            raise internal()

    def _api(self, body: bytes) -> None:
        target = self.headers["X-Amz-Target"]
        service, _, operation = target.partition(".")
        store = self.server.store
        caller = caller_from_authorization(self.headers.get("Authorization"))
        call = _Call(operation, self.headers.get("User-Agent"), caller, time.time())
        try:
            handler = OPERATIONS.get(operation) if service == "SageMaker" else None
            if handler is None:
                raise AwsError("UnknownOperationException", f"Operation {target} is not supported.")
            call.logged = True
            try:
                call.params = json.loads(body or b"{}")
            except ValueError:
                call.params = None
            self._faults(operation)
            if call.params is None:
                raise AwsError("SerializationException", "The request body is not valid JSON.")
            params = call.params
            validate(operation, params)
            with store.lock:
                now = time.time()
                store.advance(now)
                call.take_target(store)
                result = handler(Context(store, caller, now), params)
                if not operation.startswith(_READ_ONLY):
                    store.touch()
                payload = encode(result)
        except AwsError as error:
            call.finish(store, error.status, error.code)
            self._send_error(error)
            return
        except Exception:
            call.finish(store, 500, "InternalFailure")
            raise
        call.finish(store, 200, None)
        self._send(200, payload)

    def _invoke(self, endpoint_name: str, body: bytes, stream: bool = False) -> None:
        store = self.server.store
        caller = caller_from_authorization(self.headers.get("Authorization"))
        operation = "InvokeEndpointWithResponseStream" if stream else "InvokeEndpoint"
        call = _Call(operation, self.headers.get("User-Agent"), caller, time.time())
        call.logged = True
        try:
            try:
                require_signature(self.headers.get("Authorization"), self.path)
            except UnsignedRequest:  # refused before anything else, but counted
                with store.lock:
                    store.calls[operation] += 1
                raise
            self._faults(operation)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with store.lock:
                now = time.time()
                store.advance(now)
                try:
                    answer = invoke(Context(store, caller, now), endpoint_name, headers, body)
                except NoCapacity as refused:
                    store.load.refused(Target.of_component(caller, refused.component), now)
                    raise
                component = headers.get(COMPONENT_HEADER.lower())
                store.load.invoked(
                    Target.invoked(caller, endpoint_name, component, answer.variant), now
                )
                pace = seconds_per_token(store)
        except AwsError as error:
            call.finish(store, error.status, error.code)
            self._send_error(error, runtime=True)
            return
        except Exception:
            call.finish(store, 500, "InternalFailure")
            raise
        call.finish(store, 200, None)
        try:
            if answer.setup_seconds:  # a serverless cold start, on the emulator's clock
                time.sleep(answer.setup_seconds)
            if stream:
                self._stream(answer, pace)
            else:  # the whole answer once the model has generated it
                time.sleep(pace * sum(part.tokens for part in answer.answer.parts))
                self._send(
                    200,
                    answer.answer.body,
                    content_type="application/json",
                    x_Amzn_Invoked_Production_Variant=answer.variant,
                )
        except ConnectionError:  # the client hung up before the answer was complete
            self.close_connection = True

    def _invoke_async(self, endpoint_name: str, body: bytes) -> None:
        """InvokeEndpointAsync: queued (async_inference.py); 202 with where the answer goes."""
        store = self.server.store
        caller = caller_from_authorization(self.headers.get("Authorization"))
        operation = "InvokeEndpointAsync"
        call = _Call(operation, self.headers.get("User-Agent"), caller, time.time())
        call.logged = True
        try:
            try:
                require_signature(self.headers.get("Authorization"), self.path)
            except UnsignedRequest:
                with store.lock:
                    store.calls[operation] += 1
                raise
            self._faults(operation)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with store.lock:
                now = time.time()
                store.advance(now)
                ticker = store.ticker
                if not isinstance(ticker, Autoscaler):
                    raise AwsError(
                        "ServiceUnavailable",
                        "Asynchronous inference needs S3: run the emulator with moto beside "
                        "it (--with-moto).",
                        503,
                    )
                inference_id, output, failure = ticker.queues.enqueue(
                    Context(store, caller, now), endpoint_name, headers, body
                )
        except AwsError as error:
            call.finish(store, error.status, error.code)
            self._send_error(error, runtime=True)
            return
        except Exception:
            call.finish(store, 500, "InternalFailure")
            raise
        call.finish(store, 202, None)
        extra = {"X_Amzn_SageMaker_OutputLocation": output}
        if failure is not None:
            extra["X_Amzn_SageMaker_FailureLocation"] = failure
        self._send(202, json.dumps({"InferenceId": inference_id}).encode(), **extra)

    def _stream(self, answer: Invocation, pace: float) -> None:
        """PayloadParts as the model produces them: each after its tokens' time, written at
        once in its own HTTP chunk (Transfer-Encoding: chunked, as SageMaker sends it)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", request_id())
        self.send_header("x-Amzn-Invoked-Production-Variant", answer.variant)
        self.send_header("X-Amzn-SageMaker-Content-Type", "application/json")
        self.end_headers()
        generated = 0
        for part in answer.answer.parts:
            if part.tokens and generated:
                self._hold()  # the first token's parts are out; the next waits on a hold
            if part.tokens and pace:
                time.sleep(pace * part.tokens)
            generated += part.tokens
            message = event_message(part.data)
            self.wfile.write(f"{len(message):X}\r\n".encode() + message + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _hold(self) -> None:
        """The hold_streams fault: the rest of the stream waits until it is cleared."""
        store = self.server.store
        with store.lock:
            while store.faults.hold_streams and not self.server.stopping:
                store.changed.wait(0.05)

    def _admin(self, method: str, path: str, body: bytes, query: str) -> None:
        try:
            parsed = json.loads(body) if body else {}
            if query and isinstance(parsed, dict):
                parsed = {**dict(parse_qsl(query)), **parsed}
            answer = admin_api.handle(self.server.store, method, path, parsed)
        except KeyError:
            self._send(
                404, encode({"error": f"no admin route {method} {path}"}), "application/json"
            )
            return
        except (admin_api.AdminError, ValueError) as error:
            self._send(400, encode({"error": str(error)}), "application/json")
            return
        self._send(200, encode(answer), "application/json")


class _Call:
    """One API call on its way to the call log (recorded before the answer is sent)."""

    def __init__(self, operation: str, user_agent: str | None, caller: Caller, at: float) -> None:
        self.operation = operation
        self.user_agent = user_agent
        self.caller = caller
        self.at = at
        self.logged = False  # unknown operations are neither counted nor logged
        self.params: Any = None
        self.target: tuple[str | None, dict[str, str] | None] | None = None

    def take_target(self, store: Store) -> None:
        """The named resource and its tags, before the call changes anything (lock held)."""
        if self.target is None and audit.is_write(self.operation):
            self.target = audit.target(store, self.caller, self.operation, self.params)

    def finish(self, store: Store, status: int, error: str | None) -> None:
        if not self.logged:
            return
        with store.lock:
            self.take_target(store)  # refused before it reached the store: tags as they are
            resource_arn, tags = self.target or (None, None)
            store.log_call(
                {
                    "time": self.at,
                    "operation": self.operation,
                    "user_agent": self.user_agent,
                    "account": self.caller.account,
                    "region": self.caller.region,
                    "status": status,
                    "error": error,
                    "write": audit.is_write(self.operation),
                    "resource_arn": resource_arn,
                    "tags": tags,
                }
            )


def _answer_async(ctx: Context, endpoint_name: str, body: bytes) -> bytes:
    """An async request's answer: the variant's container, as InvokeEndpoint's."""
    return invoke(ctx, endpoint_name, {}, body).answer.body


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: Store, verbose: bool) -> None:
        self.store = store
        self.verbose = verbose
        self.stopping = False  # held streams let go when the server stops
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up on a kept-alive connection is normal, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class EmulatorServer:
    """The emulator in a background thread: for tests, benchmarks and the CLI."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        state_file: str | Path | None = None,
        verbose: bool = False,
        with_moto: bool = False,
        token_time: float | None = None,
        moto_port: int = 0,
    ) -> None:
        self.store = Store(delay, Path(state_file) if state_file else None, token_time)
        self.store.completers.update(COMPLETERS)
        self._with_moto = with_moto
        self._moto_port = moto_port  # 0: a free one
        self.moto: MotoSidecar | None = None
        self._address = (host, port)
        self._verbose = verbose
        self._http: _HttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def moto_url(self) -> str:
        """moto's server (STS, Application Auto Scaling, CloudWatch) when started with it."""
        if self.moto is None:
            raise RuntimeError("the emulator was not started with moto")
        return self.moto.url

    def start(self) -> EmulatorServer:
        self._http = _HttpServer(self._address, self.store, self._verbose)
        if self._with_moto:
            # moto's backends live in this process: the autoscaler reads and writes them.
            self.moto = MotoSidecar(str(self._address[0]), self._moto_port).start()
            with self.store.lock:
                autoscaler = Autoscaler(self.store, time.time())
                autoscaler.queues.answerer = _answer_async
                self.store.ticker = autoscaler
            catch_up = threading.Thread(
                target=self._catch_up_loop, name="sagemaker-emulator-clock", daemon=True
            )
            catch_up.start()
            self._threads.append(catch_up)
        serve = threading.Thread(
            target=self._http.serve_forever, name="sagemaker-emulator", daemon=True
        )
        serve.start()
        self._threads.append(serve)
        if self.store.state_file is not None:
            saver = threading.Thread(
                target=self._save_loop, name="sagemaker-emulator-save", daemon=True
            )
            saver.start()
            self._threads.append(saver)
        return self

    def _save_loop(self) -> None:
        while not self._stopping.wait(SAVE_INTERVAL):
            self.store.save_if_dirty()

    def _catch_up_loop(self) -> None:
        """moto's answers (alarm states, scaling activities) do not pass through the emulator,
        so with moto the clock is caught up regularly even when nobody calls the emulator."""
        while not self._stopping.wait(CATCH_UP_INTERVAL):
            with self.store.lock:
                self.store.advance()

    def stop(self) -> None:
        self._stopping.set()
        if self._http is not None:
            self._http.stopping = True
            self._http.shutdown()
            self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.store.save_if_dirty()
        self._http = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
