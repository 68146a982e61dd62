"""AWS JSON 1.1 framing: who is calling (account, region) and how bodies are encoded."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
_ACCOUNT_KEY = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Caller:
    """The namespace a request lives in: like AWS, accounts and regions never see each other."""

    account: str
    region: str


def caller_from_authorization(header: str | None) -> Caller:
    """Read the SigV4 credential scope; a 12-digit access key id selects that account (as moto)."""
    if header:
        match = _CREDENTIAL.search(header)
        if match:
            key, region = match.group(1), match.group(2)
            account = key if _ACCOUNT_KEY.fullmatch(key) else DEFAULT_ACCOUNT
            return Caller(account, region)
    return Caller(DEFAULT_ACCOUNT, DEFAULT_REGION)


def request_id() -> str:
    return str(uuid.uuid4())


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def error_body(code: str, message: str) -> bytes:
    return encode({"__type": code, "message": message})
