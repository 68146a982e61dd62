"""What an LLMEndpoint's status says, read the one way tests, the demo and benchmarks read it.

"Ready" means the Ready condition is True *for the current generation*: a Ready left over
from before the last spec change does not count, since the operator has not yet acted
on that change.
"""

from __future__ import annotations

from typing import Any


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    """The condition of that type, or {} when the object or the condition is absent."""
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return {}


def _current(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return bool(status.get("observedGeneration") == (obj.get("metadata") or {}).get("generation"))


def is_ready(obj: dict[str, Any] | None) -> bool:
    """Ready=True for the current generation."""
    return obj is not None and condition(obj, "Ready").get("status") == "True" and _current(obj)


def is_settled(obj: dict[str, Any] | None) -> bool:
    """Ready, and Progressing=False for the current generation: nothing left to do
    (autoscaling's target and policies, say, are set up after the endpoint serves)."""
    return is_ready(obj) and condition(obj, "Progressing").get("status") == "False"


def is_failed(obj: dict[str, Any] | None) -> bool:
    """Phase Failed for the current generation: no point waiting for Ready."""
    return obj is not None and (obj.get("status") or {}).get("phase") == "Failed" and _current(obj)
