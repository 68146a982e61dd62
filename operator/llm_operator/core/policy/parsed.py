"""LLMEndpointPolicy objects as read from the API server, and the reasons their
problems are reported with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from llm_operator.api.policy import LLMEndpointPolicySpec

VIOLATION = "PolicyViolation"
BUDGET_EXCEEDED = "BudgetExceeded"
ADOPTION_NOT_ALLOWED = "AdoptionNotAllowed"
DEFAULTS_INVALID = "PolicyDefaultsInvalid"
PRICE_UNKNOWN = "PriceUnknown"


@dataclass(frozen=True)
class Policy:
    """One LLMEndpointPolicy as read from the API server; `spec` is None when it does
    not parse (an object older than the CRD's rules): it then governs nothing and
    says why in `problems`."""

    name: str
    spec: LLMEndpointPolicySpec | None
    problems: tuple[str, ...] = ()
    generation: int = 0


def parse(obj: Mapping[str, Any]) -> Policy:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    generation = int(meta.get("generation") or 0)
    try:
        spec = LLMEndpointPolicySpec.model_validate(obj.get("spec") or {})
    except ValidationError as exc:
        problems = tuple(
            ".".join(str(p) for p in ("spec", *e["loc"]))
            + ": "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors(include_url=False, include_input=False)
        )
        return Policy(name, None, problems, generation)
    return Policy(name, spec, (), generation)


def specs(policies: Sequence[Policy]) -> list[tuple[str, LLMEndpointPolicySpec]]:
    """The valid policies' specs, in name order (the order defaults merge in)."""
    return sorted(((p.name, p.spec) for p in policies if p.spec is not None), key=lambda x: x[0])


def listed(values: Iterable[str]) -> str:
    return ", ".join(values)
