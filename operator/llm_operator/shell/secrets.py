"""The Hugging Face token: read from its Secret at reconcile time, never shown.

The token is read on every pass (not cached) so a rotated Secret takes effect
without a restart. `Redactor` scrubs known secret values out of any text that
could reach a log line, an Event, the status or an exception message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

REDACTED = "***"


class SecretError(Exception):
    """The token Secret is missing or unreadable; the message never holds its data."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_secret_key(core: k8s.CoreV1Api, namespace: str, name: str, key: str) -> str:
    """Blocking read of one key of a Secret (run it off the event loop)."""
    try:
        secret = core.read_namespaced_secret(name=name, namespace=namespace)
    except ApiException as exc:
        if exc.status == 404:
            raise SecretError(
                "SecretNotFound", f"Secret {namespace}/{name} does not exist"
            ) from None
        if exc.status == 403:
            raise SecretError(
                "SecretForbidden", f"the operator may not read Secret {namespace}/{name}"
            ) from None
        raise SecretError(
            "SecretUnreadable", f"Secret {namespace}/{name} could not be read (HTTP {exc.status})"
        ) from None
    data: Mapping[str, Any] = secret.data or {}
    if key not in data:
        raise SecretError("SecretKeyMissing", f"Secret {namespace}/{name} has no key {key!r}")
    try:
        value = base64.b64decode(data[key], validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError):
        raise SecretError(
            "SecretUnreadable", f"key {key!r} of Secret {namespace}/{name} is not UTF-8 text"
        ) from None
    if not value:
        raise SecretError("SecretKeyMissing", f"key {key!r} of Secret {namespace}/{name} is empty")
    return value


class Redactor:
    """Replaces every known secret value in a text with ***."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values = sorted({v for v in values if v}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)

    def scrub(self, request: Any) -> Any:
        """A copy of a request with secret values replaced, for logging."""
        if isinstance(request, Mapping):
            return {k: self.scrub(v) for k, v in request.items()}
        if isinstance(request, list | tuple):
            return [self.scrub(v) for v in request]
        if isinstance(request, str):
            return self(request)
        return request
