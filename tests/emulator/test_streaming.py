"""InvokeEndpointWithResponseStream as SageMaker sends it: Transfer-Encoding chunked, one
PayloadPart per HTTP chunk, written as the model generates (paced by the per-token time)."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator.serving import CHAT, invoke, serve, sse, stream

STREAMED = {**CHAT, "max_tokens": 8, "stream": True}


def _signed_stream_request(url: str, body: bytes) -> bytes:
    """The bytes of a SigV4-signed InvokeEndpointWithResponseStream request, as boto3 sends."""
    address = f"{url}/endpoints/ep/invocations-response-stream"
    request = AWSRequest("POST", address, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIAEXAMPLE", "not-a-secret"), "sagemaker", "us-east-1").add_auth(
        request
    )
    host = urlparse(url).netloc
    lines = ["POST /endpoints/ep/invocations-response-stream HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def _read_raw(url: str, request: bytes) -> tuple[str, list[bytes]]:
    """(the head of the answer, its HTTP chunks exactly as framed on the wire)."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as conn:
        conn.sendall(request)
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert rest == b"\r\n", "the body ends with the last chunk"
            break
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]
    return head.decode(), chunks


def _payload(message: bytes) -> bytes:
    """The payload of one event stream message (prelude, headers, payload, CRC)."""
    total = int.from_bytes(message[:4], "big")
    headers = int.from_bytes(message[4:8], "big")
    assert total == len(message), "one HTTP chunk holds exactly one event message"
    return message[12 + headers : -4]


def test_the_stream_is_chunked_one_payload_part_per_chunk(
    sm: Any, rt: Any, emulator: EmulatorServer, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    body = json.dumps(STREAMED).encode()
    head, chunks = _read_raw(emulator.url, _signed_stream_request(emulator.url, body))
    status, *headers = head.split("\r\n")
    fields = {k.lower(): v for k, _, v in (h.partition(": ") for h in headers)}
    assert status == "HTTP/1.1 200 OK"
    assert fields["transfer-encoding"] == "chunked" and "content-length" not in fields
    assert fields["content-type"] == "application/vnd.amazon.eventstream"
    assert fields["x-amzn-invoked-production-variant"] == "AllTraffic"
    payloads = [_payload(chunk) for chunk in chunks]
    assert payloads == stream(rt, STREAMED)  # what boto3 reads, part for part
    assert len(payloads) == 8 + 2  # the role chunk, a chunk per token, [DONE]


def test_the_first_part_arrives_before_the_rest_is_generated(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    whole = invoke(rt, {**CHAT, "max_tokens": 8})["choices"][0]["message"]["content"]
    emulator_admin.faults(hold_streams=True)  # the model stalls after its first part
    events = iter(
        rt.invoke_endpoint_with_response_stream(EndpointName="ep", Body=json.dumps(STREAMED))[
            "Body"
        ]
    )
    first = next(events)["PayloadPart"]["Bytes"]  # here while the model is held
    assert sse([first])[0]["choices"][0]["delta"]["role"] == "assistant"
    emulator_admin.clear_faults()
    rest = [event["PayloadPart"]["Bytes"] for event in events]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in sse([first, *rest]))
    assert text == whole


def test_parts_are_paced_by_the_token_time(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    serve(sm, emulator_admin, "vllm")
    assert emulator_admin.set_token_time(0.03) == 0.03
    started = time.monotonic()
    arrivals = []
    response = rt.invoke_endpoint_with_response_stream(EndpointName="ep", Body=json.dumps(STREAMED))
    for _ in response["Body"]:
        arrivals.append(time.monotonic() - started)
    # Eight tokens of 0.03 s: the last part cannot leave before they are generated.
    assert arrivals[-1] >= 8 * 0.03
    started = time.monotonic()
    invoke(rt, {**CHAT, "max_tokens": 8})  # a whole answer waits for all of them too
    assert time.monotonic() - started >= 8 * 0.03


def test_the_token_time_follows_the_delay_unless_set(emulator_admin: AdminClient) -> None:
    assert emulator_admin.set_token_time(None) == 0.0  # delay 0: AWS time takes no time
    emulator_admin.set_delay(3)
    assert emulator_admin.set_token_time(None) == 0.02 * 3 / 300  # 0.02 AWS s per token
    assert emulator_admin.set_token_time(0.5) == 0.5
