"""The AWS event stream encoding of InvokeEndpointWithResponseStream's body."""

from __future__ import annotations

import zlib


def _header(name: str, value: str) -> bytes:
    key, raw = name.encode(), value.encode()
    return bytes([len(key)]) + key + b"\x07" + len(raw).to_bytes(2, "big") + raw


def event_message(payload: bytes, event_type: str = "PayloadPart") -> bytes:
    """One message of the AWS event stream encoding, as botocore's parser reads it."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/octet-stream")
        + _header(":message-type", "event")
    )
    total = 12 + len(headers) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + headers + payload
    return message + zlib.crc32(message).to_bytes(4, "big")
