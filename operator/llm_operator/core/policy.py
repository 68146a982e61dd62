"""LLMEndpointPolicy, decided: which policies govern a namespace and what they make of a spec.

Pure: the shell hands in the policy objects, the namespace's labels and the
typed spec; this module answers with the effective spec (defaults filled where
the tenant left a field unset, enforced tags on top), the policies' limits
checked against it, and the budget arithmetic. Several policies governing one
namespace combine so that none is weakened: every limit holds (the strictest
wins), every budget holds, and defaults merge in policy-name order (the first
policy by name that sets a default wins; a different value from a later one is a
conflict, reported on the policies' status).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from llm_operator.api import catalog
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.api.policy import (
    LLMEndpointPolicySpec,
    NamespaceSelector,
    PolicyBudget,
    glob_regex,
)
from llm_operator.core import engines
from llm_operator.core.validation import Problem, error, warning

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


# -- which policies govern a namespace ---------------------------------------------------


def selects(selector: NamespaceSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions, all must hold)."""
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
        if req.operator == "In" and (not present or labels[req.key] not in req.values):
            return False
        if req.operator == "NotIn" and present and labels[req.key] in req.values:
            return False
    return True


def governing(policies: Iterable[Policy], labels: Mapping[str, str]) -> tuple[Policy, ...]:
    """The valid policies selecting a namespace with these labels, in name order."""
    found = [
        p for p in policies if p.spec is not None and selects(p.spec.namespace_selector, labels)
    ]
    return tuple(sorted(found, key=lambda p: p.name))


def _specs(policies: Sequence[Policy]) -> list[tuple[str, LLMEndpointPolicySpec]]:
    return sorted(((p.name, p.spec) for p in policies if p.spec is not None), key=lambda x: x[0])


# -- defaults ------------------------------------------------------------------------------


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
    specs = _specs(policies)
    _, found = _first_wins((n, _default_values(s)) for n, s in specs)
    _, enforced = _first_wins(
        (n, {f"enforcedTags.{k}": v for k, v in s.enforced_tags.items()}) for n, s in specs
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
    specs = _specs(policies)
    names = tuple(n for n, _ in specs)
    chosen, _ = _first_wins((n, _default_values(s)) for n, s in specs)
    enforced, _ = _first_wins((n, dict(s.enforced_tags)) for n, s in specs)
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


# -- limits --------------------------------------------------------------------------------


def ceiling_instances(spec: LLMEndpointSpec) -> int:
    """Most instances the spec lets run: instance.maxCount (InferenceComponent) or
    autoscaling.maxReplicas (Model), else instance.count; none of its own on a pool."""
    if spec.instance is None:
        return 0
    if spec.endpoint_type == "Model" and spec.autoscaling is not None:
        return max(spec.instance_spec.count, spec.autoscaling.max_replicas)
    return spec.instance_spec.pool_size


def ceiling_copies(spec: LLMEndpointSpec) -> int:
    """Most copies of the base model (InferenceComponent endpoints; 0 for Model)."""
    if spec.endpoint_type == "Model":
        return 0
    copies = spec.effective_resources.copies
    if spec.autoscaling is not None:
        return max(copies, spec.autoscaling.max_replicas)
    return copies


def matches_glob(instance_type: str, globs: Iterable[str]) -> bool:
    return any(re.fullmatch(glob_regex(g), instance_type) for g in globs)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(values)


def check_limits(
    spec: LLMEndpointSpec,
    policies: Sequence[Policy],
    *,
    status: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Every governing policy's limits against the effective spec, each broken one an
    error naming the policy (the same rules the admission policy refuses at apply)."""
    out: list[Problem] = []
    engine = engines.effective(spec.model, status)
    instances = ceiling_instances(spec)
    copies = ceiling_copies(spec)
    for name, p in _specs(policies):
        lim = p.limits
        if lim is None:
            continue
        who = f"LLMEndpointPolicy {name}"
        if lim.allowed_regions is not None and spec.aws.region not in lim.allowed_regions:
            out.append(
                error(
                    VIOLATION,
                    f"{who}: aws.region {spec.aws.region} is not allowed "
                    f"(allowed: {_listed(lim.allowed_regions) or 'none'})",
                )
            )
        types = lim.allowed_instance_types
        on_own = spec.instance is not None  # a pool's instances are its owner's
        if types is not None and on_own and not matches_glob(spec.instance_spec.type, types):
            out.append(
                error(
                    VIOLATION,
                    f"{who}: instance.type {spec.instance_spec.type} is not allowed "
                    f"(allowed: {_listed(types) or 'none'})",
                )
            )
        if lim.allowed_engines is not None and engine not in lim.allowed_engines:
            out.append(
                error(
                    VIOLATION,
                    f"{who}: engine {engine} is not allowed "
                    f"(allowed: {_listed(lim.allowed_engines) or 'none'})",
                )
            )
        most = lim.max_instances_per_endpoint
        if most is not None and instances > most:
            out.append(
                error(
                    VIOLATION,
                    f"{who}: at most {most} instances per LLMEndpoint; this one may run "
                    f"{instances} (instance.count, instance.maxCount or autoscaling.maxReplicas)",
                )
            )
        most = lim.max_copies_per_endpoint
        if most is not None and copies > most:
            out.append(
                error(
                    VIOLATION,
                    f"{who}: at most {most} copies per LLMEndpoint; this one may run "
                    f"{copies} (resources.copies or autoscaling.maxReplicas)",
                )
            )
        if lim.require_autoscaling and spec.autoscaling is None:
            out.append(error(VIOLATION, f"{who}: spec.autoscaling is required"))
        if lim.require_rollback_alarms and not _has_alarms(spec):
            out.append(
                error(
                    VIOLATION,
                    f"{who}: spec.rollout with autoRollback or rollbackAlarms is required",
                )
            )
    return out


def _has_alarms(spec: LLMEndpointSpec) -> bool:
    r = spec.rollout
    return r is not None and (r.auto_rollback is not None or bool(r.rollback_alarms))


def adoption_refusal(policies: Sequence[Policy], *, allowed_without: bool) -> str | None:
    """Why adopting is refused here, or None when it is allowed: every governing policy
    must allow it; a namespace no policy governs follows the operator's setting."""
    specs = _specs(policies)
    if not specs:
        if allowed_without:
            return None
        return (
            "adopting existing endpoints is not allowed: no LLMEndpointPolicy governing "
            "this namespace sets limits.allowAdoption, and the operator's "
            "LLMOP_ALLOW_ADOPTION is off"
        )
    refusing = [n for n, s in specs if s.limits is None or not s.limits.allow_adoption]
    if not refusing:
        return None
    return (
        f"adopting existing endpoints is not allowed by LLMEndpointPolicy "
        f"{_listed(refusing)} (limits.allowAdoption is not true)"
    )


# -- budget --------------------------------------------------------------------------------


def ceiling_cost(instance_type: str, instances: int) -> Decimal | None:
    return catalog.hourly_cost(instance_type, instances)


@dataclass(frozen=True)
class Usage:
    """Another LLMEndpoint of the namespace as the budget counts it."""

    name: str
    ceiling: Decimal | None  # USD per hour at its ceiling; None: price unknown
    now: Decimal | None = None  # USD per hour running now (its status)
    refused: bool = False


def raw_ceiling(spec: Mapping[str, Any]) -> tuple[str, int]:
    """(instance type, instances at the ceiling) of a stored spec, without parsing it
    (the other LLMEndpoints of a namespace are counted from what the API server holds)."""
    instance = spec.get("instance") or {}
    itype = str(instance.get("type") or "")
    count = int(instance.get("count") or 1)
    most = max(count, int(instance.get("maxCount") or 0))
    scaling = spec.get("autoscaling") or {}
    if spec.get("endpointType") == "Model" and scaling:
        most = max(count, int(scaling.get("maxReplicas") or 0))
    return itype, most


def usage_of(obj: Mapping[str, Any]) -> Usage | None:
    """How one stored LLMEndpoint counts against its namespace's budget; None when it does
    not count: being deleted, or neither admitted nor running (waiting or refused)."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    status = obj.get("status") or {}
    record = status.get("policy") or {}
    now = parse_usd(status.get("estimatedHourlyCostUSD"))
    if record.get("admitted"):
        return Usage(str(meta.get("name")), parse_usd(record.get("ceilingCostPerHourUSD")), now)
    if status.get("endpointName"):
        # Running since before any budget governed it: it counts at its spec's ceiling.
        itype, most = raw_ceiling(obj.get("spec") or {})
        return Usage(str(meta.get("name")), ceiling_cost(itype, most), now)
    return None


def parse_usd(text: Any) -> Decimal | None:
    """A USD amount from status (None when absent or not a number)."""
    try:
        return Decimal(str(text)) if text not in (None, "") else None
    except ArithmeticError:
        return None


def budgets(policies: Sequence[Policy]) -> list[tuple[str, PolicyBudget]]:
    return [(n, s.budget) for n, s in _specs(policies) if s.budget is not None]


@dataclass(frozen=True)
class Admission:
    """The budget's answer for one LLMEndpoint: refused (with the problem) or not,
    and what is left under each budget once it is counted."""

    problem: Problem | None
    left: tuple[str, ...] = field(default=())

    @property
    def admitted(self) -> bool:
        return self.problem is None or self.problem.severity != "error"


def admit(
    *,
    namespace: str,
    name: str,
    ceiling: Decimal | None,
    what: str,
    others: Sequence[Usage],
    policies: Sequence[Policy],
) -> Admission:
    """Whether one more LLMEndpoint (or a higher ceiling of one) fits every budget
    governing the namespace. `others` excludes this one; `what` describes its ceiling
    (e.g. "ml.g5.12xlarge x 2") for the message."""
    counted = [u for u in others if u.name != name]
    taken = sum((u.ceiling or Decimal(0) for u in counted), Decimal(0))
    left: list[str] = []
    for policy, budget in budgets(policies):
        who = f"LLMEndpointPolicy {policy}"
        if budget.max_endpoints is not None and len(counted) + 1 > budget.max_endpoints:
            return Admission(
                error(
                    BUDGET_EXCEEDED,
                    f"{who} allows {budget.max_endpoints} LLMEndpoints in namespace "
                    f"{namespace}; {len(counted)} are counted, none is left",
                )
            )
        limit = budget.max_cost
        if limit is None:
            continue
        if ceiling is None:
            return Admission(
                warning(
                    PRICE_UNKNOWN,
                    f"{what}: no price in the operator's instance catalog "
                    f"({catalog.load().as_of}); not counted against {who}'s budget",
                )
            )
        remaining = limit - taken
        if ceiling > remaining:
            return Admission(
                error(
                    BUDGET_EXCEEDED,
                    f"{who} allows {catalog.format_usd(limit)} USD/h in namespace {namespace} "
                    f"at ceilings; {catalog.format_usd(taken)} is taken by {len(counted)} "
                    f"LLMEndpoints, {catalog.format_usd(max(remaining, Decimal(0)))} is left, "
                    f"and this one needs {catalog.format_usd(ceiling)} ({what}, prices of "
                    f"{catalog.load().as_of})",
                )
            )
        left.append(f"{policy}: {catalog.format_usd(remaining - ceiling)} USD/h")
    return Admission(None, tuple(left))


# -- the policies' own status --------------------------------------------------------------


def namespace_status(namespace: str, usages: Sequence[Usage], refused: int) -> dict[str, Any]:
    now = [u.now for u in usages if u.now is not None]
    ceilings = [u.ceiling for u in usages if u.ceiling is not None]
    return {
        "name": namespace,
        "endpoints": len(usages),
        "costPerHourUSD": catalog.format_usd(sum(now, Decimal(0))),
        "ceilingCostPerHourUSD": catalog.format_usd(sum(ceilings, Decimal(0))),
        "refused": refused,
    }


def refused(obj: Mapping[str, Any]) -> bool:
    """The LLMEndpoint is held back by a policy (its Degraded reason says so)."""
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Degraded" and c.get("status") == "True":
            return c.get("reason") in (BUDGET_EXCEEDED, VIOLATION, ADOPTION_NOT_ALLOWED)
    return False


def policy_status(
    policy: Policy,
    policies: Sequence[Policy],
    namespaces: Mapping[str, Mapping[str, str]],
    endpoints: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """One policy's status from every policy, every namespace's labels and every
    LLMEndpoint: usage per governed namespace, and what the admin should look at."""
    out: dict[str, Any] = {
        "observedGeneration": policy.generation,
        "priceDate": catalog.load().as_of,
    }
    if policy.spec is None:
        out.update(namespaces=[], governed=0, problems=list(policy.problems))
        return out
    governed = sorted(
        n for n, labels in namespaces.items() if selects(policy.spec.namespace_selector, labels)
    )
    by_namespace: dict[str, list[Mapping[str, Any]]] = {}
    for obj in endpoints:
        by_namespace.setdefault(str((obj.get("metadata") or {}).get("namespace")), []).append(obj)
    rows = []
    problems: list[str] = []
    seen: set[str] = set()
    for ns in governed:
        objs = by_namespace.get(ns, [])
        usages = [u for u in map(usage_of, objs) if u is not None]
        rows.append(namespace_status(ns, usages, sum(1 for o in objs if refused(o))))
        for c in conflicts(governing(policies, namespaces[ns])):
            if policy.name in (c.winner, c.loser) and c.message() not in seen:
                seen.add(c.message())
                problems.append(f"namespace {ns}: {c.message()}")
    if not governed:
        problems.insert(0, "namespaceSelector matches no namespace")
    out.update(namespaces=rows, governed=len(governed), problems=problems)
    return out
