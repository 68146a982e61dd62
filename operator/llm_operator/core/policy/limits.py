"""Limits: per-LLMEndpoint rules (regions, instance types, engines, ceilings, required
autoscaling or rollback alarms, adoption), the same the admission policy refuses at apply."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llm_operator.api.models import VARIANT_ENDPOINT_TYPES, LLMEndpointSpec
from llm_operator.api.policy import glob_regex
from llm_operator.core import engines
from llm_operator.core.policy.parsed import VIOLATION, Policy, listed, specs
from llm_operator.core.validation import Problem, error


def ceiling_instances(spec: LLMEndpointSpec) -> int:
    """Most instances the spec lets run: instance.maxCount (InferenceComponent) or
    autoscaling.maxReplicas (Model), else instance.count."""
    if spec.instance is None:
        return 0
    if spec.endpoint_type in VARIANT_ENDPOINT_TYPES and spec.autoscaling is not None:
        return max(spec.instance_spec.count, spec.autoscaling.max_replicas)
    return spec.instance_spec.pool_size


def ceiling_copies(spec: LLMEndpointSpec) -> int:
    """Most copies of the base model (InferenceComponent endpoints; 0 for Model and
    Serverless)."""
    if spec.endpoint_type != "InferenceComponent":
        return 0
    copies = spec.effective_resources.copies
    if spec.autoscaling is not None:
        return max(copies, spec.autoscaling.max_replicas)
    return copies


def matches_glob(instance_type: str, globs: Iterable[str]) -> bool:
    return any(re.fullmatch(glob_regex(g), instance_type) for g in globs)


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
    for name, p in specs(policies):
        lim = p.limits
        if lim is None:
            continue
        who = f"LLMEndpointPolicy {name}"
        if lim.allowed_regions is not None and spec.aws.region not in lim.allowed_regions:
            out.append(
                error(
                    VIOLATION,
                    f"{who}: aws.region {spec.aws.region} is not allowed "
                    f"(allowed: {listed(lim.allowed_regions) or 'none'})",
                )
            )
        types = lim.allowed_instance_types
        on_own = spec.instance is not None  # a pool's instances are its owner's
        if types is not None and on_own and not matches_glob(spec.instance_spec.type, types):
            out.append(
                error(
                    VIOLATION,
                    f"{who}: instance.type {spec.instance_spec.type} is not allowed "
                    f"(allowed: {listed(types) or 'none'})",
                )
            )
        if lim.allowed_engines is not None and engine not in lim.allowed_engines:
            out.append(
                error(
                    VIOLATION,
                    f"{who}: engine {engine} is not allowed "
                    f"(allowed: {listed(lim.allowed_engines) or 'none'})",
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
    found_specs = specs(policies)
    if not found_specs:
        if allowed_without:
            return None
        return (
            "adopting existing endpoints is not allowed: no LLMEndpointPolicy governing "
            "this namespace sets limits.allowAdoption, and the operator's "
            "LLMOP_ALLOW_ADOPTION is off"
        )
    refusing = [n for n, s in found_specs if s.limits is None or not s.limits.allow_adoption]
    if not refusing:
        return None
    return (
        f"adopting existing endpoints is not allowed by LLMEndpointPolicy "
        f"{listed(refusing)} (limits.allowAdoption is not true)"
    )
