"""`llm-operator plan` for LLMEndpointPools: the calls the operator's next pass of a pool
would make, and a change of its instance type (rolled out, or refused because a placed
model would not fit the new type).

The pool's own planner (`core.pools.plan_pool`) on what SageMaker holds now (read by
`shell.pools.observe_pool`: Describe, List and ListTags only), with the LLMEndpoints
placed on it read with the person's kubeconfig, as the operator reads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from llm_operator.api import catalog
from llm_operator.api.pool import LLMEndpointPoolSpec
from llm_operator.core import identity, pools
from llm_operator.shell import pools as shell_pools
from llm_operator.shell.aws import SageMaker, Scope
from llm_operator.shell.commands.kube import Cluster
from llm_operator.shell.settings import OperatorSettings

# A pool not created yet has no uid: its names do not depend on it.
NEW_UID = "(new)"
# Reasons of a pool plan that stop it: nothing would be sent.
_STOPS = frozenset({pools.POOL_MODELS_DO_NOT_FIT, "NameConflict"})


@dataclass
class PoolPlanReport:
    namespace: str
    name: str
    exists: bool
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # operation, kind, name
    rollout: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cost_before: Decimal | None = None
    cost_after: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "exists": self.exists,
            "changes": [
                {"wave": 1, "operation": op, "resource": kind, "name": name}
                for op, kind, name in self.steps
            ],
            "rollout": self.rollout,
            "costPerHourUSD": {
                "before": catalog.format_usd(self.cost_before),
                "after": catalog.format_usd(self.cost_after),
            },
            "warnings": self.warnings,
            "errors": self.errors,
        }

    def text(self) -> list[str]:
        lines = [
            f"LLMEndpointPool {self.namespace}/{self.name} ({'exists' if self.exists else 'new'})"
        ]
        lines += [f"  error: {e}" for e in self.errors]
        if not self.errors and not self.steps:
            lines.append("  no changes now: SageMaker already matches the spec")
        if self.steps:
            lines.append("  now:")
            lines += [f"    {op} {kind} {name}" for op, kind, name in self.steps]
        if self.rollout:
            lines.append(f"  rollout: {self.rollout}")
        if not self.errors:
            before = catalog.format_usd(self.cost_before) or "unknown"
            after = catalog.format_usd(self.cost_after) or "unknown"
            lines.append(f"  cost per hour: ${before} -> ${after}")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines.append("")
        return lines


async def plan_pool(
    cluster: Cluster,
    sagemaker: SageMaker,
    manifest: Mapping[str, Any],
    namespace: str,
    settings: OperatorSettings,
) -> PoolPlanReport:
    meta: Mapping[str, Any] = manifest.get("metadata") or {}
    name = str(meta.get("name") or "")
    report = PoolPlanReport(namespace, name, exists=False)
    if not name:
        report.errors.append("metadata.name is missing")
        return report
    try:
        spec = LLMEndpointPoolSpec.model_validate(manifest.get("spec") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        report.errors.append(f"InvalidSpec: spec.{where}: {first['msg']}")
        return report
    live = await asyncio.to_thread(cluster.pool, namespace, name)
    report.exists = live is not None
    live_meta: Mapping[str, Any] = (live or {}).get("metadata") or {}
    cluster_id = await asyncio.to_thread(cluster.cluster_id) or ""
    owner = shell_pools.owner_of(
        {"namespace": namespace, "name": name, "uid": live_meta.get("uid") or NEW_UID},
        settings.cluster_name,
        cluster_id,
    )
    annotations = await asyncio.to_thread(cluster.namespace_annotations, namespace)
    if annotations is None:
        report.warnings.append(
            f"NamespaceUnreadable: may not get Namespace {namespace}: SageMaker is read as "
            "this command's own identity"
        )
    try:
        who = identity.resolve(
            namespace, annotations or {}, settings.namespace_roles, spec.aws.role_arn
        )
    except identity.IdentityError as exc:
        report.errors.append(f"{exc.reason}: {exc.message}")
        return report
    want = pools.render_pool(spec, owner)
    place = Scope(want.region, who)
    await sagemaker.prepare(place)
    seen = await shell_pools.observe_pool(sagemaker, place, want)
    placed: list[Mapping[str, Any]] = []
    for ns in sorted({namespace, *spec.allowed_namespaces}):
        listed = await asyncio.to_thread(cluster.namespace_llmendpoints, ns)
        if listed is None:
            report.warnings.append(
                f"LLMEndpointsUnreadable: may not list LLMEndpoints in {ns}: a change of "
                "instance type is checked without the models placed from there"
            )
            continue
        placed += [
            o
            for o in listed
            if o.get("kind") != "LLMEndpointPool" and shell_pools.is_placed_on(o, namespace, name)
        ]
    planned = pools.plan_pool(want, seen, shell_pools.tenants_of(placed))
    if planned.degraded and planned.reason in _STOPS:
        report.errors.append(f"{planned.reason}: {planned.message}")
    elif planned.degraded:
        report.warnings.append(f"{planned.reason}: {planned.message}")
    report.steps = [(a.operation, str(a.kind), a.name) for a in planned.actions]
    rollout = planned.rollout
    if rollout is not None and rollout.phase in ("InProgress", "Baking"):
        policy = spec.rollout
        report.rollout = (
            f"{rollout.from_type} -> {rollout.to_type} ({rollout.phase}"
            f"{', ' + rollout.step if rollout.step else ''}): instances replaced "
            f"{policy.max_batch_percent}% per batch, each baked {policy.wait_seconds} s"
            + (
                f", rolled back by alarms {', '.join(policy.rollback_alarms)}"
                if policy.rollback_alarms
                else ""
            )
            + "; the placed models keep serving"
        )
    ep = seen.endpoint
    runs = shell_pools.serving_type(want, seen, (live or {}).get("status") or {})
    instances = ep.current_instances if ep is not None else max(spec.instance.min_count, 1)
    report.cost_before = pools.pool_cost(runs, instances) if ep is not None else Decimal(0)
    report.cost_after = pools.pool_cost(spec.instance.type, instances)
    return report
