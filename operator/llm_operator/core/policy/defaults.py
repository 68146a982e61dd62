"""Defaults and enforced tags: the effective spec the governing policies make of a
tenant's, what they put in it, and the conflicts between policies."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.api.policy import LLMEndpointPolicySpec
from llm_operator.core.policy.limits import check_limits
from llm_operator.core.policy.parsed import DEFAULTS_INVALID, Policy, specs
from llm_operator.core.validation import Problem, error


@dataclass(frozen=True)
class Applied:
    """One value a policy put into the effective spec."""

    field: str  # spec path, e.g. rollout, aws.tags.cost-center
    value: str  # as JSON for blocks, the plain value for strings
    policy: str
    enforced: bool = False

    def to_status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "value": self.value, "policy": self.policy}
        if self.enforced:
            out["enforced"] = True
        return out


@dataclass(frozen=True)
class Conflict:
    """Two policies giving one field different defaults (or enforced tag values)."""

    field: str
    winner: str
    loser: str

    def message(self) -> str:
        return (
            f"{self.field}: LLMEndpointPolicy {self.winner} and {self.loser} set different "
            f"values; {self.winner} applies (the first by name)"
        )


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _default_values(spec: LLMEndpointPolicySpec) -> dict[str, Any]:
    """The policy's defaults by spec path, as wire values (tags one key at a time)."""
    out: dict[str, Any] = {}
    d = spec.defaults
    if d is None:
        return out
    if d.engine is not None:
        out["model.engine"] = d.engine
    if d.rollout is not None:
        out["rollout"] = d.rollout.model_dump(by_alias=True, exclude_unset=True)
    if d.deletion_policy is not None:
        out["deletionPolicy"] = d.deletion_policy
    if d.aws is not None:
        if d.aws.vpc is not None:
            out["aws.vpc"] = d.aws.vpc.model_dump(by_alias=True)
        for key, value in d.aws.tags.items():
            out[f"aws.tags.{key}"] = value
    return out


def _first_wins(
    entries: Iterable[tuple[str, Mapping[str, Any]]],
) -> tuple[dict[str, tuple[str, Any]], list[Conflict]]:
    """Per path, the first policy's (by name) value; later different values are conflicts."""
    chosen: dict[str, tuple[str, Any]] = {}
    conflicts: list[Conflict] = []
    for name, values in entries:
        for path, value in values.items():
            if path not in chosen:
                chosen[path] = (name, value)
            elif chosen[path][1] != value:
                conflicts.append(Conflict(path, chosen[path][0], name))
    return chosen, conflicts


def conflicts(policies: Sequence[Policy]) -> list[Conflict]:
    """Conflicting defaults and enforced tags between these policies (one namespace's)."""
    found_specs = specs(policies)
    _, found = _first_wins((n, _default_values(s)) for n, s in found_specs)
    _, enforced = _first_wins(
        (n, {f"enforcedTags.{k}": v for k, v in s.enforced_tags.items()}) for n, s in found_specs
    )
    return found + enforced


@dataclass(frozen=True)
class Governed:
    """What the governing policies make of a spec: the effective spec (None when the
    defaults made it invalid), what they put in it, and the problems (errors block the
    pass as an invalid spec does)."""

    spec: LLMEndpointSpec | None
    policies: tuple[str, ...] = ()
    applied: tuple[Applied, ...] = ()
    problems: tuple[Problem, ...] = ()

    def to_status(self) -> dict[str, Any]:
        """status.policy's part this decides (the budget's is the shell's)."""
        return {
            "governedBy": list(self.policies),
            "applied": [a.to_status() for a in self.applied],
        }


def _is_new(status: Mapping[str, Any] | None) -> bool:
    """No engine was chosen for this object before (see core.engines.effective)."""
    status = status or {}
    return not status.get("engine") and not status.get("modelName")


def govern(
    spec: LLMEndpointSpec,
    policies: Sequence[Policy],
    *,
    status: Mapping[str, Any] | None = None,
) -> Governed:
    """The effective spec under `policies` (those governing the namespace) and what
    they found wrong with it.

    Defaults fill what the tenant left unset (`model_fields_set`: what the stored
    spec holds); a block (rollout, aws.vpc) is filled whole or not at all, tags one
    key at a time with the tenant's value winning; enforced tags win over the
    tenant's. The engine default applies to new objects only: one that runs already
    keeps its engine. `status` is the object's (None for a new one).
    """
    if not policies:
        return Governed(spec)
    found_specs = specs(policies)
    names = tuple(n for n, _ in found_specs)
    chosen, _ = _first_wins((n, _default_values(s)) for n, s in found_specs)
    enforced, _ = _first_wins((n, dict(s.enforced_tags)) for n, s in found_specs)
    raw = spec.model_dump(by_alias=True, exclude_unset=True)
    aws = raw.setdefault("aws", {})
    tags: dict[str, str] = dict(aws.get("tags") or {})
    applied: list[Applied] = []
    for path, (policy, value) in sorted(chosen.items()):
        if path.startswith("aws.tags."):
            key = path.removeprefix("aws.tags.")
            if key not in tags and key not in enforced:
                tags[key] = value
                applied.append(Applied(path, value, policy))
            continue
        if path == "model.engine":
            if spec.model.engine is not None or spec.model.tgi_version is not None:
                continue
            if not _is_new(status):
                continue
            raw["model"]["engine"] = value
        elif path == "aws.vpc":
            if "vpc" in aws:
                continue
            aws["vpc"] = value
        elif path in raw:
            continue
        else:
            raw[path] = value
        applied.append(Applied(path, _shown(value), policy))
    for key, (policy, value) in sorted(enforced.items()):
        applied.append(Applied(f"aws.tags.{key}", value, policy, enforced=True))
        tags[key] = value
    if tags:
        aws["tags"] = tags
    try:
        effective = LLMEndpointSpec.model_validate(raw)
    except ValidationError as exc:
        by = ", ".join(sorted({a.policy for a in applied})) or ", ".join(names)
        messages = [
            ".".join(str(p) for p in ("spec", *e["loc"]))
            + ": "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors(include_url=False, include_input=False)
        ]
        problem = error(
            DEFAULTS_INVALID,
            f"the defaults of LLMEndpointPolicy {by} make this spec invalid: "
            + "; ".join(messages),
        )
        return Governed(None, names, tuple(applied), (problem,))
    problems = check_limits(effective, policies, status=status)
    return Governed(effective, names, tuple(applied), tuple(problems))
