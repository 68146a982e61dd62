"""Reading LLMEndpoints and their Events and waiting for them (local_cluster.waiting, never
guessed sleeps). What Ready means is local_cluster.llmendpoints.is_ready, everywhere.

As the admin they are read straight from the API server (what `kubectl get -o json`
shows, without starting a kubectl for every poll); as anyone else, through kubectl."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local_cluster.llmendpoints import is_failed, is_ready, is_settled
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl

API = "/apis/llmoperator.io/v1alpha1"


def get_llme(kubectl: Kubectl, name: str) -> dict[str, Any] | None:
    if kubectl.is_admin:
        found: dict[str, Any] | None = kubectl.api_get(
            f"{API}/namespaces/{kubectl.namespace}/llmendpoints/{name}"
        )
        return found
    result = kubectl("get", "llmendpoint", name, "-o", "json", "--ignore-not-found", check=True)
    if not result.stdout.strip():
        return None
    obj: dict[str, Any] = json.loads(result.stdout)
    return obj


def patch_spec(kubectl: Kubectl, name: str, spec: dict[str, Any]) -> None:
    kubectl("patch", "llmendpoint", name, "--type=merge", "-p", json.dumps({"spec": spec}))


def events(kubectl: Kubectl, name: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name}"
    if kubectl.is_admin:
        path = f"/api/v1/namespaces/{kubectl.namespace}/events"
        listed: list[dict[str, Any]] = kubectl.api_get(path, fieldSelector=selector)["items"]
        return listed
    items: list[dict[str, Any]] = kubectl.json("get", "events", "--field-selector", selector)[
        "items"
    ]
    return items


def event_reasons(kubectl: Kubectl, name: str) -> set[str]:
    return {e["reason"] for e in events(kubectl, name)}


def wait_ready(
    kubectl: Kubectl, name: str, *, timeout: float = 120.0, log: Callable[[], str] | None = None
) -> dict[str, Any]:
    """Wait until the LLMEndpoint is Ready for its current generation; return it."""
    return _wait(kubectl, name, is_ready, "Ready", timeout, log)


def wait_settled(
    kubectl: Kubectl, name: str, *, timeout: float = 120.0, log: Callable[[], str] | None = None
) -> dict[str, Any]:
    """Wait until the LLMEndpoint is Ready with nothing left to do (Progressing False:
    autoscaling and alarms are set up after it serves); return it."""
    return _wait(kubectl, name, is_settled, "settled", timeout, log)


def _wait(
    kubectl: Kubectl,
    name: str,
    done: Callable[[dict[str, Any] | None], bool],
    what: str,
    timeout: float,
    log: Callable[[], str] | None,
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        if is_failed(obj):
            raise AssertionError(
                f"LLMEndpoint {name} Failed: {(obj or {}).get('status')!r}\n"
                f"--- operator log ---\n{log() if log else ''}"
            )
        return obj if done(obj) else None

    def diagnose() -> str:
        obj = get_llme(kubectl, name)
        status = (obj or {}).get("status")
        return f"status: {status!r}\n--- operator log ---\n{log() if log else ''}"

    return wait_for(probe, timeout=timeout, what=f"LLMEndpoint {name} {what}", diagnose=diagnose)


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
