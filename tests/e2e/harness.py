"""Reading LLMEndpoints and waiting for them (local_cluster.waiting, never guessed sleeps)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl


def get_llme(kubectl: Kubectl, name: str) -> dict[str, Any] | None:
    result = kubectl("get", "llmendpoint", name, "-o", "json", "--ignore-not-found", check=True)
    if not result.stdout.strip():
        return None
    obj: dict[str, Any] = json.loads(result.stdout)
    return obj


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return {}


def is_ready(obj: dict[str, Any] | None) -> bool:
    """Ready=True for the current generation."""
    if obj is None:
        return False
    status = obj.get("status") or {}
    return (
        condition(obj, "Ready").get("status") == "True"
        and status.get("observedGeneration") == obj["metadata"]["generation"]
    )


def is_failed(obj: dict[str, Any]) -> bool:
    """phase Failed for the current generation: no point waiting for Ready."""
    status = obj.get("status") or {}
    return (
        status.get("phase") == "Failed"
        and status.get("observedGeneration") == obj["metadata"]["generation"]
    )


def wait_ready(
    kubectl: Kubectl, name: str, *, timeout: float = 120.0, log: Callable[[], str] | None = None
) -> dict[str, Any]:
    """Wait until the LLMEndpoint is Ready for its current generation; return it."""

    def probe() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        if obj is not None and is_failed(obj):
            raise AssertionError(
                f"LLMEndpoint {name} Failed: {obj.get('status')!r}\n"
                f"--- operator log ---\n{log() if log else ''}"
            )
        return obj if is_ready(obj) else None

    def diagnose() -> str:
        obj = get_llme(kubectl, name)
        status = (obj or {}).get("status")
        return f"status: {status!r}\n--- operator log ---\n{log() if log else ''}"

    return wait_for(probe, timeout=timeout, what=f"LLMEndpoint {name} Ready", diagnose=diagnose)


def wait_gone(
    kubectl: Kubectl, name: str, *, timeout: float = 120.0, log: Callable[[], str] | None = None
) -> None:
    def diagnose() -> str:
        remains = get_llme(kubectl, name)
        return f"still there: {remains!r}\n--- operator log ---\n{log() if log else ''}"

    wait_for(
        lambda: get_llme(kubectl, name) is None,
        timeout=timeout,
        what=f"LLMEndpoint {name} gone",
        diagnose=diagnose,
    )
