"""AWS JSON 1.1 framing: the caller a request's signature names and how bodies are encoded."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from .caller import DEFAULT_ACCOUNT, DEFAULT_REGION, Caller
from .errors import AwsError

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


_CORAL = ":http://internal.amazon.com/coral/com.amazon.coral.service/"


class UnsignedRequest(AwsError):
    """A request AWS refuses before any service sees it: no SigV4 signature, or an
    Authorization header that is not one. Any signature with any key is accepted
    (the emulator has no IAM), a missing one never."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, 403)
        self.error_type = code + _CORAL  # x-amzn-ErrorType as AWS writes it

    def body(self) -> bytes:
        return encode({"message": self.message})


def require_signature(authorization: str | None, path: str) -> None:
    """Raise UnsignedRequest unless the request carries a SigV4 signature (header or
    presigned query), with the words sagemaker-runtime answers."""
    if not authorization:
        if "X-Amz-Signature=" in path:
            return
        raise UnsignedRequest("MissingAuthenticationTokenException", "Missing Authentication Token")
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if f"{name}=" not in authorization
    ]
    if missing or not authorization.startswith("AWS4-HMAC-SHA256 "):
        words = missing or ["Authorization header requires 'Credential' parameter."]
        raise UnsignedRequest(
            "IncompleteSignatureException", " ".join(words) + f" Authorization={authorization}"
        )
