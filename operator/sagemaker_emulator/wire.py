"""AWS JSON 1.1 framing: the caller a request's signature names and how bodies are encoded."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from .caller import DEFAULT_ACCOUNT, DEFAULT_REGION, Caller

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_ACCOUNT_KEY = re.compile(r"\d{12}")


# Accounts of access keys issued by a companion (moto's STS, for assumed roles); None: unknown.
key_accounts: list[Callable[[str], str | None]] = []


def caller_from_authorization(header: str | None) -> Caller:
    """Read the SigV4 credential scope; a 12-digit access key id selects that account (as
    moto), a key moto's STS issued for an assumed role selects the role's account."""
    if header:
        match = _CREDENTIAL.search(header)
        if match:
            key, region = match.group(1), match.group(2)
            if _ACCOUNT_KEY.fullmatch(key):
                return Caller(key, region)
            found = next((a for a in (lookup(key) for lookup in key_accounts) if a), None)
            return Caller(found or DEFAULT_ACCOUNT, region)
    return Caller(DEFAULT_ACCOUNT, DEFAULT_REGION)


def request_id() -> str:
    return str(uuid.uuid4())


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def error_body(code: str, message: str) -> bytes:
    return encode({"__type": code, "message": message})
