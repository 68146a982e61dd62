"""`llm-operator plan -f FILE`: the SageMaker calls the operator would make, before it does.

Uses the operator's own pieces: validation and `desired.render` for what the
file asks, under the LLMEndpointPolicies governing its namespace (defaults,
enforced tags, limits, budgets), the `Observer` for what SageMaker holds (List,
Describe, ListTags: reads only), the LLMEndpoint's `status.planMemory` and the
pure planner. The
planner plans one pass at a time (it only asks for calls SageMaker accepts now),
so the command replays passes on a simulated SageMaker where every call
succeeds, to show the whole sequence in waves. Nothing is written: not to
SageMaker, not to the API server. Exit codes follow `terraform plan
-detailed-exitcode`: 0 nothing to change, 2 changes, 1 error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from llm_operator.api import catalog
from llm_operator.api.models import GROUP, KIND, VARIANT_ENDPOINT_TYPES, VERSION
from llm_operator.api.pool import POOL_KIND
from llm_operator.core import actions, adoption, desired, planner, policy, registry, render, status
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedState,
)
from llm_operator.core.plan import Plan
from llm_operator.shell.adopt import Survey, survey
from llm_operator.shell.aws import AwsError, SageMaker, Scope, Where
from llm_operator.shell.commands.kube import Cluster, CommandError
from llm_operator.shell.commands.output import dump_json
from llm_operator.shell.commands.plan_input import PlanReads, as_applied
from llm_operator.shell.commands.plan_policy import PolicyReads, PolicyReport
from llm_operator.shell.commands.plan_pools import PoolPlanReport, plan_pool
from llm_operator.shell.observe import Look, Observer
from llm_operator.shell.render import Renderer, Rendering
from llm_operator.shell.secrets import REDACTED, Redactor
from llm_operator.shell.settings import OperatorSettings

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
# Container variables whose values are secrets whoever's they are (an old model's token too).
SECRET_VARIABLES = frozenset({"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"})
MAX_WAVES = 12
# Members a Describe answer fills in with SageMaker's default when the request left them out.
DESCRIBE_DEFAULTS: Mapping[str, Any] = {
    "InitialVariantWeight": 1.0,
    "Mode": "SingleModel",
    "EnableNetworkIsolation": False,
}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Step:
    wave: int  # 1: the calls of the next pass; 2+: once SageMaker finished the wave before
    operation: str
    resource: str
    name: str
    changes: tuple[Change, ...] = ()
    effect: actions.Effect = actions.Effect.UPDATE  # the action's, for the sign shown


@dataclass
class EndpointPlan:
    namespace: str
    name: str
    exists: bool
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cost_before: Decimal | None = None
    cost_after: Decimal | None = None
    instances_before: str | None = None
    instances_after: str | None = None
    exact: bool = True  # False when the token Secret could not be read
    policy: PolicyReport = field(default_factory=PolicyReport)
    # spec.model.modelPackage: the version it would deploy (status.model's shape).
    model: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "exists": self.exists,
            "exact": self.exact,
            "changes": [
                {
                    "wave": s.wave,
                    "operation": s.operation,
                    "resource": s.resource,
                    "name": s.name,
                    "fields": [
                        {"field": c.field, "before": c.before, "after": c.after} for c in s.changes
                    ],
                }
                for s in self.steps
            ],
            "costPerHourUSD": {
                "before": catalog.format_usd(self.cost_before),
                "after": catalog.format_usd(self.cost_after),
            },
            "instances": {"before": self.instances_before, "after": self.instances_after},
            "policy": self.policy.to_json(),
            "model": self.model,
            "warnings": self.warnings,
            "errors": self.errors,
        }


# -- the one place that reads the action interface ------------------------------------


def action_row(action: actions.Action) -> tuple[str, str, str, dict[str, Any]]:
    """(operation, resource kind, name, request fields without the name and tags); a call
    that only tags shows the tags it adds, key by key (`Tags.<key>`)."""
    fields = action.request()
    fields.pop("Tags", None)
    if action.notice in (actions.Notice.TAGGED, actions.Notice.RETAGGED):
        _, added = action.tagging()
        if added:
            fields["Tags"] = dict(added)
    fields.pop(action.kind.name_member, None)
    return action.operation, str(action.kind), action.name, fields


# -- reading the file ----------------------------------------------------------------


def read_manifests(path: str) -> list[dict[str, Any]]:
    """The LLMEndpoints and LLMEndpointPools in a YAML file ("-": standard input)."""
    try:
        text = Path("/dev/stdin").read_text() if path == "-" else Path(path).read_text()
        documents = [d for d in yaml.safe_load_all(text) if d]
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CommandError(f"{path} is not valid YAML: {exc}") from None
    found: list[dict[str, Any]] = []
    for doc in documents:
        items = doc.get("items", []) if doc.get("kind") == "List" else [doc]
        for item in items:
            if (
                isinstance(item, Mapping)
                and item.get("kind") in (KIND, POOL_KIND)
                and str(item.get("apiVersion", "")).startswith(f"{GROUP}/")
            ):
                found.append(dict(item))
    if not found:
        raise CommandError(f"{path} holds no {KIND} or {POOL_KIND} ({GROUP}/{VERSION})")
    return found


# -- flattening requests into readable fields ----------------------------------------


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"PrimaryContainer.Environment.MAX_TOTAL_TOKENS": "4096", ...}; lists by index."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list | tuple):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def _masked(fields: Mapping[str, Any], redact: Redactor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key.rsplit(".", 1)[-1] in SECRET_VARIABLES:
            out[key] = REDACTED
        elif isinstance(value, str):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any], redact: Redactor) -> list[Change]:
    old, new = _masked(flatten(before), redact), _masked(flatten(after), redact)
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        leaf = key.rsplit(".", 1)[-1]
        if key not in new and leaf in DESCRIBE_DEFAULTS and a == DESCRIBE_DEFAULTS[leaf]:
            continue
        if _comparable(a) != _comparable(b):
            changes.append(Change(key, a, b))
    return changes


def _comparable(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


# -- replaying passes on a simulated SageMaker ---------------------------------------


def waves(
    want: desired.DesiredState,
    observed: ObservedState,
    memory: PlanMemory,
    deletion_policy: Any,
) -> tuple[list[tuple[int, actions.Action, ObservedState]], Plan]:
    """Every action of every pass until the planner is done, with the state it acts on."""
    first = planner.plan(
        want, observed, deleting=False, deletion_policy=deletion_policy, memory=memory
    )
    result: list[tuple[int, actions.Action, ObservedState]] = []
    current, plan = observed, first
    seen: set[str] = set()
    for wave in range(1, MAX_WAVES + 1):
        if not plan.actions:
            break
        keys = {a.key for a in plan.actions}
        if keys <= seen:
            break  # the planner asks again for what already failed in this replay
        seen |= keys
        for action in plan.actions:
            result.append((wave, action, current))
            current = action.settle(current, want.owner)
        plan = planner.plan(
            want, current, deleting=False, deletion_policy=deletion_policy, memory=plan.memory
        )
    return result, first


# -- one LLMEndpoint -----------------------------------------------------------------


def _adoption_steps(found: Survey, want: desired.DesiredState, redact: Redactor) -> list[Step]:
    """The tagging an adoption starts with (wave 1: the same pass then goes on)."""
    added = tuple(Change(f"Tags.{k}", None, redact(v)) for k, v in sorted(want.tags.items()))
    operation = actions.AddTags.operation
    return [Step(1, operation, kind, name, added) for kind, name, _ in found.untagged]


class Planner:
    """Plans LLMEndpoints against one cluster and SageMaker, reading only."""

    def __init__(
        self, cluster: Cluster, sagemaker: SageMaker, settings: OperatorSettings | None = None
    ) -> None:
        self.cluster = cluster
        self.sagemaker = sagemaker
        # The operator's settings from the same LLMOP_ environment: its cluster
        # identity derives the names, its namespace roles the account.
        self.settings = settings or OperatorSettings()
        # The operator's own render path: what the file asks, as whom, adopting what.
        self.renderer = Renderer(sagemaker, self.settings)
        # The LLMEndpointPolicies, read once: plan renders under them as the operator does.
        self.policies = PolicyReads(cluster)
        self._places: dict[str, Scope] = {}  # endpoint name -> where its calls go
        # max_age 0: every inventory and Describe is taken now, never from a cache.
        self.observer = Observer(sagemaker, max_age=0.0, describe_max_age=0.0)

    async def plan(self, manifest: Mapping[str, Any], namespace: str) -> EndpointPlan:
        meta = manifest.get("metadata")
        name = str(meta.get("name") or "") if isinstance(meta, Mapping) else ""
        result = EndpointPlan(namespace=namespace, name=name, exists=False)
        if not name:
            result.errors.append("metadata.name is missing")
            return result
        live = await asyncio.to_thread(self.cluster.llmendpoint, namespace, name)
        result.exists = live is not None
        governing, unread = await self.policies.governing(namespace)
        body = as_applied(manifest, namespace, live)
        rendering = await self._render(body, live, result, governing)
        result.policy = PolicyReport.of(rendering.rendered.parsed.governed)
        if unread:
            result.exact = False
            result.warnings += unread
        place = rendering.place
        if place is None or result.errors:
            return result
        rendered = rendering.rendered
        redact = rendering.redact
        want = rendered.desired
        if want.package is not None:
            result.model = registry.status_of(want.package, want.not_retried)
        for type_, reason, message in rendered.events:
            if type_ == "Warning":
                result.warnings.append(f"{reason}: {redact(message)}")
        self._places[want.endpoint_name] = place
        if rendered.spec is not None:
            # The namespace's budgets, counted as the operator's next pass counts them.
            refused, warned = await self.policies.budget(
                result.policy,
                namespace=namespace,
                name=name,
                uid=str(body["metadata"]["uid"]),
                spec=rendered.spec,
                status=body["status"],
                governing=governing,
            )
            result.warnings += [warned] if warned else []
            if refused:
                result.errors.append(refused)
                return result
        adopting: Survey | None = None
        if rendered.parsed.adopting is not None and (
            want.adopted is None or want.adopted.endpoint != want.endpoint_name
        ):
            refusal = policy.adoption_refusal(
                governing, allowed_without=self.settings.allow_adoption
            )
            if refusal is not None:
                if not governing:  # the setting plan read is its own environment's
                    refusal += (
                        " (plan reads LLMOP_ALLOW_ADOPTION as the operator does: set it here too)"
                    )
                result.errors.append(f"{policy.ADOPTION_NOT_ALLOWED}: {refusal}")
                return result
            # The operator adopts first, in the same pass: plan reads what it would tag.
            try:
                adopting = await survey(self.sagemaker, place, want)
            except adoption.AdoptionError as exc:
                result.errors.append(f"{exc.reason}: {exc.message}")
                return result
            rendered = rendered.with_adopted(adoption.from_record(adopting.record))
            want = rendered.desired
        lookups = render.lookups(rendered)
        observed = await self.observer.observe(
            want,
            Look(
                full=True,
                identity=place.identity,
                alarms=lookups.alarms,
                extra=lookups.extra,
                scaling=lookups.scaling,
            ),
        )
        if adopting is not None:
            result.steps += _adoption_steps(adopting, want, redact)
            observed = adoption.as_adopted(
                observed, [n for _, n, _ in adopting.untagged], want.owner
            )
        planned, first = waves(
            want, observed, rendered.parsed.memory, rendered.parsed.deletion_policy
        )
        # Events are announced once (memory.reported), so a problem the operator has
        # already reported shows only in the Degraded condition.
        for problem in first.events:
            if problem.type == "Warning":
                result.warnings.append(f"{problem.reason}: {redact(problem.message)}")
        degraded = first.degraded
        if degraded.status and not any(degraded.message in w for w in result.warnings):
            result.warnings.append(f"{degraded.reason}: {redact(degraded.message)}")
        for wave, action, state in planned:
            result.steps.append(await self._step(want, wave, action, state, redact))
        await self._costs(want, observed, result)
        return result

    async def _render(
        self,
        body: Mapping[str, Any],
        live: Mapping[str, Any] | None,
        result: EndpointPlan,
        governing: Sequence[policy.Policy],
    ) -> Rendering:
        """The operator's render of `body` under the policies `governing` its namespace,
        its problems and warnings noted in `result`."""
        reads = PlanReads(self.cluster)
        rendering = await self.renderer.render(reads, body, governing=governing)
        theirs = await self._operator_cluster_name(rendering, live)
        if theirs is not None:
            reads = PlanReads(self.cluster)
            rendering = await self.renderer.render(
                reads, body, cluster_name=theirs, governing=governing
            )
            result.warnings.append(
                f"ClusterName: the operator names this LLMEndpoint's resources with cluster "
                f"name {theirs!r} (the tags of endpoint {rendering.rendered.desired.endpoint_name}"
                f"), not {self.settings.cluster_name!r} (LLMOP_CLUSTER_NAME here): planned "
                f"with {theirs!r}; set LLMOP_CLUSTER_NAME to it for exact plans of new "
                "LLMEndpoints"
            )
        result.exact = reads.exact
        result.warnings += reads.warnings
        rendered = rendering.rendered
        stops = (*rendered.errors, *rendered.blocking)
        result.errors += [f"{p.reason}: {p.message}" for p in stops]
        result.warnings += [f"{p.reason}: {p.message}" for p in rendered.warnings]
        refusal = rendering.refusal
        if refusal is not None and not result.errors:  # AssumeRoleFailed
            result.errors.append(f"{refusal.reason}: {refusal.message}")
        return rendering

    async def _operator_cluster_name(
        self, rendering: Rendering, live: Mapping[str, Any] | None
    ) -> str | None:
        """The cluster name the operator derives this LLMEndpoint's names with, when it
        is not this command's LLMOP_CLUSTER_NAME: the tags of the endpoint it made for
        the object (status.endpointArn) carry it. None: this command's is right."""
        status = (live or {}).get("status") or {}
        arn = status.get("endpointArn")
        if rendering.place is None or not arn:
            return None
        try:
            tags = await self.sagemaker.tags(rendering.place, str(arn))
        except AwsError:
            return None  # gone, or in another account or region than the spec's now
        owner = rendering.rendered.desired.owner
        if tags.get(desired.UID_TAG) != owner.uid:
            return None
        theirs = tags.get(desired.CLUSTER_TAG, "")
        return theirs if theirs != owner.cluster else None

    def _where(self, want: desired.DesiredState) -> Where:
        return self._places.get(want.endpoint_name, want.region)

    async def _describe(self, region: Where, kind: Kind, name: str) -> dict[str, Any]:
        """The kind's Describe answer for `name`; empty when there is none."""
        try:
            return await self.sagemaker.call(
                region, kind.describe, {kind.name_member: name}, service=kind.service
            )
        except AwsError as error:
            if error.kind == "not_found":
                return {}
            raise

    async def _step(
        self,
        want: desired.DesiredState,
        wave: int,
        action: actions.Action,
        state: ObservedState,
        redact: Redactor,
    ) -> Step:
        """One row of the plan: the call, and the fields it changes against what the
        action compares with (`Action.baseline`); a delete shows none."""
        operation, kind, name, fields = action_row(action)
        if action.effect is actions.Effect.DELETE:
            return Step(wave, operation, kind, name, (), action.effect)
        before = await self._before(self._where(want), action, action.baseline(state))
        changes = tuple(diff(before, fields, redact))
        return Step(wave, operation, kind, name, changes, action.effect)

    async def _before(
        self, region: Where, action: actions.Action, baseline: actions.Baseline
    ) -> Mapping[str, Any]:
        """The baseline's values, with the members its Describe reads (none when that
        lands on the resource the action makes)."""
        read = baseline.read
        if read is None:
            return baseline.values
        name = (
            await self._pick(region, read.name)
            if isinstance(read.name, actions.Pick)
            else read.name
        )
        if name is None or (read.kind is action.kind and name == action.name):
            return baseline.values
        found = await self._describe(region, read.kind, name)
        return {**baseline.values, **{k: found[k] for k in read.members if k in found}}

    async def _pick(self, region: Where, pick: actions.Pick) -> str | None:
        """The name at `pick.path` in its Describe answer; None when anything is missing."""
        value: Any = await self._describe(region, pick.kind, pick.name)
        for step in pick.path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return None
        return str(value) if value else None

    async def _costs(
        self, want: desired.DesiredState, observed: ObservedState, result: EndpointPlan
    ) -> None:
        after_type = want.endpoint_config.instance_type
        after_count = want.endpoint_config.initial_instance_count
        result.cost_after = catalog.hourly_cost(after_type, after_count)
        result.instances_after = f"{after_count} x {after_type}"
        serverless = status.serverless_summary(want.endpoint_config.create_request)
        if serverless is not None:  # no hourly cost: billed per use
            result.cost_after, result.instances_after = Decimal(0), serverless
        ep = observed.endpoint
        if ep is None or ep.owner_uid != want.owner.uid:
            result.cost_before = Decimal(0)
            result.instances_before = "none"
            return
        config = await self._describe(self._where(want), Kind.ENDPOINT_CONFIG, ep.config_name)
        variants = config.get("ProductionVariants") or []
        if not variants:
            return
        before_serverless = status.serverless_summary(config)
        if before_serverless is not None:
            result.cost_before, result.instances_before = Decimal(0), before_serverless
            if not any(s.operation in _MOVES_INSTANCES for s in result.steps):
                result.cost_after, result.instances_after = Decimal(0), before_serverless
            return
        before_type = str(variants[0].get("InstanceType", ""))
        count = ep.current_instances
        if count is None:
            count = int(variants[0].get("InitialInstanceCount") or 0)
        result.cost_before = catalog.hourly_cost(before_type, count)
        result.instances_before = f"{count} x {before_type}"
        if not any(s.operation in _MOVES_INSTANCES for s in result.steps):
            # Nothing planned touches the instances: they stay as observed (autoscaling or
            # managed instance scaling may hold them away from instance.count, even at 0).
            result.cost_after, result.instances_after = result.cost_before, result.instances_before
        elif (
            want.scaling is not None
            and want.endpoint_type in VARIANT_ENDPOINT_TYPES
            and after_type == before_type
        ):
            # A Model endpoint's update keeps the autoscaled count (RetainAllVariantProperties).
            held = want.scaling.clamp(count)
            result.cost_after = catalog.hourly_cost(after_type, held)
            result.instances_after = f"{held} x {after_type}"


# The calls that change what instances an existing endpoint runs.
_MOVES_INSTANCES = frozenset(
    {
        actions.CreateEndpoint.operation,
        actions.UpdateEndpoint.operation,
        actions.UpdateEndpointWeightsAndCapacities.operation,
        actions.DeleteEndpoint.operation,
    }
)


# -- the command ---------------------------------------------------------------------


async def plan_all(
    cluster: Cluster,
    manifests: Sequence[Mapping[str, Any]],
    namespace_flag: str | None,
    pool_plans: list[PoolPlanReport] | None = None,
) -> list[EndpointPlan]:
    """The LLMEndpoints' plans; the pools' go to `pool_plans` when given."""
    sagemaker = SageMaker(workers=4, calls_per_second=10.0, burst=10)
    try:
        planner_ = Planner(cluster, sagemaker)
        results = []
        for manifest in manifests:
            found = manifest.get("metadata")
            meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
            in_file = meta.get("namespace")
            kind = str(manifest.get("kind") or KIND)
            if in_file and namespace_flag and in_file != namespace_flag:
                raise CommandError(
                    f"the namespace of {kind} {meta.get('name')} in the file ({in_file}) does "
                    f"not match the namespace given ({namespace_flag})"
                )
            namespace = str(in_file or cluster.namespace)
            if kind == POOL_KIND:
                if pool_plans is not None:
                    try:
                        pool_plans.append(
                            await plan_pool(
                                cluster, sagemaker, manifest, namespace, planner_.settings
                            )
                        )
                    except AwsError as error:
                        failed_pool = PoolPlanReport(namespace, str(meta.get("name") or ""), False)
                        failed_pool.errors.append(f"SageMaker: {error.code}: {error.message}")
                        pool_plans.append(failed_pool)
                continue
            try:
                results.append(await planner_.plan(manifest, namespace))
            except AwsError as error:
                failed = EndpointPlan(namespace, str(meta.get("name") or ""), exists=False)
                failed.errors.append(f"SageMaker: {error.code}: {error.message}")
                results.append(failed)
        return results
    finally:
        sagemaker.close()


def exit_code(plans: Sequence[EndpointPlan], pool_plans: Sequence[PoolPlanReport] = ()) -> int:
    if any(p.errors for p in plans) or any(p.errors for p in pool_plans):
        return EXIT_ERROR
    changes = any(p.steps for p in plans) or any(p.steps for p in pool_plans)
    return EXIT_CHANGES if changes else EXIT_NO_CHANGES


_SIGN = {actions.Effect.CREATE: "+", actions.Effect.UPDATE: "~", actions.Effect.DELETE: "-"}


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return repr(value) if isinstance(value, str) else str(value)


def render_text(plans: Sequence[EndpointPlan]) -> str:
    lines: list[str] = []
    for p in plans:
        state = "exists" if p.exists else "new"
        lines.append(f"LLMEndpoint {p.namespace}/{p.name} ({state})")
        lines += p.policy.text()
        if p.model is not None:
            which = (
                f"version {p.model['version']} of model package group {p.model['group']}"
                if p.model.get("group")
                else "model package"
            )
            lines.append(f"  model: {which} ({p.model['arn']})")
        if p.errors:
            lines += [f"  error: {e}" for e in p.errors]
        elif not p.steps:
            lines.append("  no changes: SageMaker already matches the spec")
        wave = 0
        for step in p.steps:
            if step.wave != wave:
                wave = step.wave
                lines.append(
                    "  now:" if wave == 1 else f"  then, once SageMaker has finished (wave {wave}):"
                )
            lines.append(f"    {_SIGN[step.effect]} {step.operation} {step.resource} {step.name}")
            for change in step.changes:
                if change.before is None:
                    lines.append(f"        {change.field}: {_value(change.after)}")
                else:
                    lines.append(
                        f"        {change.field}: {_value(change.before)} -> {_value(change.after)}"
                    )
        if not p.errors:
            before = catalog.format_usd(p.cost_before) or "unknown"
            after = catalog.format_usd(p.cost_after) or "unknown"
            lines.append(
                f"  cost per hour: ${before} ({p.instances_before or 'unknown'}) -> "
                f"${after} ({p.instances_after or 'unknown'})"
            )
        lines += [f"  warning: {w}" for w in p.warnings]
        lines.append("")
    calls = sum(len(p.steps) for p in plans)
    failed = sum(bool(p.errors) for p in plans)
    summary = (
        f"Plan: {calls} SageMaker call{'s' if calls != 1 else ''} for {len(plans)} LLMEndpoint"
    )
    summary += "s" if len(plans) != 1 else ""
    if failed:
        summary += f"; {failed} could not be planned"
    lines.append(summary + ". Nothing was changed.")
    return "\n".join(lines) + "\n"


def run(cluster: Cluster, file: str, namespace_flag: str | None, output: str) -> int:
    manifests = read_manifests(file)
    pool_plans: list[PoolPlanReport] = []
    plans = asyncio.run(plan_all(cluster, manifests, namespace_flag, pool_plans))
    code = exit_code(plans, pool_plans)
    if output == "json":
        dump_json(
            {
                "changes": code == EXIT_CHANGES,
                "catalogAsOf": catalog.load().as_of,
                "llmEndpoints": [p.to_json() for p in plans],
                "llmEndpointPools": [p.to_json() for p in pool_plans],
            }
        )
    else:
        pools_text = [line for p in pool_plans for line in p.text()]
        print("\n".join(pools_text) + ("\n" if pools_text else ""), end="")
        if plans or not pool_plans:
            print(render_text(plans), end="")
    return code
