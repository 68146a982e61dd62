"""`llm-operator audit`: what this operator made in SageMaker that nobody owns, or uses, any more.

A resource is the operator's when its `llmoperator.io/managed-by` tag says so;
its LLMEndpoint is found by the `llmoperator.io/uid` tag, so a re-created
LLMEndpoint with the same name does not hide what the old one left behind.

Audit speaks for one cluster, the kubeconfig's: only there can it tell that an
LLMEndpoint is gone. A resource whose uid names no LLMEndpoint here is this
cluster's only when its `llmoperator.io/cluster-id` tag names this cluster (or,
without one, its `llmoperator.io/cluster` name is this cluster's); one tagged for
another cluster is "other cluster" (listed with `--all-clusters`, never deleted),
and one with no cluster tag at all is "unattributed" (made before the operator
tagged its cluster: it may be another cluster's, still serving).
Resources of a deleted LLMEndpoint are "retained" when it said so (the operator
tagged them `llmoperator.io/retained` before letting it go, or, for resources
kept before that tag existed, its `Retained` Event is still in the cluster,
which keeps Events about an hour) and "orphaned" otherwise. Cost is grouped per namespace too,
with the LLMEndpointPolicies governing each and their budgets' room, and per
LLMEndpointPool: its endpoint and the models on it with their share of its cost
(`audit_pools`). Endpoints without
traffic over `--idle-hours` are found through CloudWatch's Invocations metric
where it has data ("unknown" without).

`--delete` removes only orphaned resources (retained ones too with
`--include-retained`, unattributed ones with `--include-unattributed`) that carry
our tags, after asking,
in dependency order (alarms, scalable targets with their policies, adapters, base
components, endpoints, endpoint configs, models), re-reading each resource's tags
right before deleting it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

import boto3
import botocore.exceptions
from botocore.config import Config

from llm_operator import __version__
from llm_operator.api import catalog
from llm_operator.core import naming, status
from llm_operator.core.actions import SERVICE_NAMESPACE
from llm_operator.core.attribution import Attribution, attribute
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    CLUSTER_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    NAME_TAG,
    NAMESPACE_TAG,
    RETAINED_TAG,
    UID_TAG,
)
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, CLOUDWATCH, SAGEMAKER, Kind
from llm_operator.core.rollout import ERROR_RATE_ALARM_SUFFIX, LATENCY_ALARM_SUFFIX
from llm_operator.shell.aws import AwsError, SageMaker
from llm_operator.shell.commands import audit_namespaces, audit_pools
from llm_operator.shell.commands.kube import Cluster, CommandError
from llm_operator.shell.commands.output import Progress, dump_json, table
from llm_operator.shell.settings import OperatorSettings


@dataclass(frozen=True)
class AuditKind:
    """A kind of resource the operator creates, as audit lists and deletes it; its
    service and name, ARN and status members are the kind's own (`core.kinds`)."""

    of: Kind
    list_operation: str
    list_key: str
    delete_operation: str
    # The list call's fixed arguments, and which names are worth reading tags for
    # (CloudWatch holds everyone's alarms: only ours by name suffix).
    list_args: Mapping[str, Any] = field(default_factory=dict)
    suffixes: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return str(self.of)

    @property
    def service(self) -> str:
        return self.of.service

    @property
    def name_member(self) -> str:
        return self.of.name_member

    @property
    def arn_member(self) -> str:
        return self.of.arn_member

    @property
    def status_member(self) -> str | None:
        return self.of.status_member

    def delete_request(self, r: Resource) -> dict[str, Any]:
        if self.service == APPLICATION_AUTOSCALING:  # deregistering deletes its policies
            return {
                "ServiceNamespace": SERVICE_NAMESPACE,
                "ResourceId": r.name,
                "ScalableDimension": r.dimension,
            }
        if self.service == CLOUDWATCH:
            return {"AlarmNames": [r.name]}
        return {self.name_member: r.name}


# In deletion order after the scaling resources: what stands on something goes first.
# Scaling policies are not listed: they carry no tags, and deregistering their target
# deletes them.
KINDS: tuple[AuditKind, ...] = (
    AuditKind(
        Kind.ALARM,
        "DescribeAlarms",
        "MetricAlarms",
        "DeleteAlarms",
        {"AlarmTypes": ["MetricAlarm"]},
        (ERROR_RATE_ALARM_SUFFIX, LATENCY_ALARM_SUFFIX, f"-{naming.NO_CAPACITY_SUFFIX}"),
    ),
    AuditKind(
        Kind.SCALABLE_TARGET,
        "DescribeScalableTargets",
        "ScalableTargets",
        "DeregisterScalableTarget",
        {"ServiceNamespace": SERVICE_NAMESPACE},
    ),
    AuditKind(
        Kind.INFERENCE_COMPONENT,
        "ListInferenceComponents",
        "InferenceComponents",
        "DeleteInferenceComponent",
    ),
    AuditKind(Kind.ENDPOINT, "ListEndpoints", "Endpoints", "DeleteEndpoint"),
    AuditKind(
        Kind.ENDPOINT_CONFIG, "ListEndpointConfigs", "EndpointConfigs", "DeleteEndpointConfig"
    ),
    AuditKind(Kind.MODEL, "ListModels", "Models", "DeleteModel"),
)
_KIND = {k.kind: k for k in KINDS}
ORPHANED, RETAINED, IN_USE = "orphaned", "retained", "in use"
OTHER_CLUSTER, UNATTRIBUTED = Attribution.OTHER.value, Attribution.UNATTRIBUTED.value


@dataclass(frozen=True)
class Here:
    """The cluster audit speaks for: its identifier (kube-system's uid) and the
    operator's cluster name (LLMOP_CLUSTER_NAME), which older resources carry."""

    cluster_id: str
    cluster_name: str = ""

    def attribute(self, tags: Mapping[str, str]) -> Attribution:
        return attribute(tags, self.cluster_id, self.cluster_name)


DELETABLE_STATUS = frozenset({"InService", "Failed", "UpdateRollbackFailed"})


@dataclass
class Resource:
    account: str
    region: str
    kind: str
    name: str
    arn: str
    uid: str
    owner: str  # namespace/name from the tags
    status: str | None
    state: str = ORPHANED
    endpoint: str | None = None  # components: the endpoint they stand on
    base: str | None = None  # adapters: their base component
    hourly: Decimal | None = None  # endpoints: instances now x catalog price
    instances: str | None = None
    traffic: str = "-"  # endpoints: idle | active (N) | unknown (why)
    retained_at: str | None = None  # the llmoperator.io/retained tag: kept by Retain
    dimension: str | None = None  # scalable targets: their ScalableDimension
    cluster: str | None = None  # the cluster-id tag, else the cluster name tag
    attribution: Attribution = Attribution.UNATTRIBUTED

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "kind": self.kind,
            "name": self.name,
            "arn": self.arn,
            "uid": self.uid,
            "owner": self.owner,
            "status": self.status,
            "state": self.state,
            "endpointName": self.endpoint,
            "baseComponent": self.base,
            "costPerHourUSD": catalog.format_usd(self.hourly),
            "instances": self.instances,
            "traffic": self.traffic,
            "retainedAt": self.retained_at,
            "cluster": self.cluster,
        }


@dataclass
class Account:
    label: str  # the profile, or "default"
    session: Any  # boto3.session.Session
    sagemaker: SageMaker = field(init=False)

    def __post_init__(self) -> None:
        self.sagemaker = SageMaker(workers=8, calls_per_second=10.0, burst=20, session=self.session)


def accounts(all_accounts: bool) -> list[Account]:
    """One entry per AWS profile with --all-accounts, else the default credentials."""
    if not all_accounts:
        return [Account("default", boto3.session.Session())]
    profiles = boto3.session.Session().available_profiles
    if not profiles:
        raise CommandError("--all-accounts: no profiles in the AWS config files")
    return [Account(p, boto3.session.Session(profile_name=p)) for p in sorted(profiles)]


def regions_of(requested: Sequence[str], account: Account) -> list[str]:
    if requested:
        return list(dict.fromkeys(requested))
    region = account.session.region_name
    if not region:
        raise CommandError("no region: pass --region (repeatable) or set AWS_REGION")
    return [str(region)]


async def scan(
    account: Account,
    region: str,
    here: Here,
    progress_stream: TextIO | None = None,
    skipped: list[str] | None = None,
) -> list[Resource]:
    """Every resource of the kinds the operator creates, in one region, whose tags say
    it is ours (alarms are read only when their names are ones the operator gives).

    Scalable targets and alarms that cannot be listed (a policy without those reads, a
    service unreachable) are left out with a line in `skipped`; SageMaker's never are.
    """
    sm = account.sagemaker

    async def listing(kind: AuditKind) -> list[dict[str, Any]]:
        try:
            return await sm.list_all(
                region, kind.list_operation, kind.list_key, service=kind.service, **kind.list_args
            )
        except AwsError as error:
            if kind.service == SAGEMAKER or skipped is None:
                raise
            skipped.append(
                f"{kind.kind}s in {account.label}/{region} not audited: "
                f"{kind.list_operation}: {error.code}: {error.message}"
            )
            return []

    listed = await asyncio.gather(*(listing(kind) for kind in KINDS))
    summaries = [
        (kind, item)
        for kind, items in zip(KINDS, listed, strict=True)
        for item in items
        if not kind.suffixes or str(item[kind.name_member]).endswith(kind.suffixes)
    ]
    progress = Progress(len(summaries), f"resources in {account.label}/{region}", progress_stream)
    found: list[Resource] = []
    semaphore = asyncio.Semaphore(8)

    async def read(kind: AuditKind, item: Mapping[str, Any]) -> None:
        async with semaphore:
            tags = await sm.tags(region, str(item[kind.arn_member]), service=kind.service)
        progress.step(str(item[kind.name_member]))
        if tags.get(MANAGED_BY_TAG) != MANAGED_BY or not tags.get(UID_TAG):
            return
        found.append(
            Resource(
                account=account.label,
                region=region,
                kind=kind.kind,
                name=str(item[kind.name_member]),
                arn=str(item[kind.arn_member]),
                uid=tags[UID_TAG],
                owner=f"{tags.get(NAMESPACE_TAG, '?')}/{tags.get(NAME_TAG, '?')}",
                status=str(item[kind.status_member]) if kind.status_member else None,
                endpoint=_stands_on(kind, item),
                dimension=item.get("ScalableDimension"),
                retained_at=tags.get(RETAINED_TAG),
                cluster=tags.get(CLUSTER_ID_TAG) or tags.get(CLUSTER_TAG),
                attribution=here.attribute(tags),
            )
        )

    try:
        await asyncio.gather(*(read(kind, item) for kind, item in summaries))
    finally:
        progress.close()
    found.sort(key=lambda r: (r.owner, list(_KIND).index(r.kind), r.name))
    return found


def _stands_on(kind: AuditKind, item: Mapping[str, Any]) -> str | None:
    """The endpoint a component stands on."""
    return item.get("EndpointName") if kind.kind == "inference component" else None


async def describe_endpoints(account: Account, resources: Iterable[Resource]) -> None:
    """Cost per hour of each endpoint, and which components are adapters."""
    sm = account.sagemaker
    for r in resources:
        if r.kind == "inference component":
            answer = await _describe(sm, r.region, "DescribeInferenceComponent", r.name)
            spec = answer.get("Specification") or {}
            r.base = spec.get("BaseInferenceComponentName")
        if r.kind != "endpoint":
            continue
        answer = await _describe(sm, r.region, "DescribeEndpoint", r.name)
        variants = answer.get("ProductionVariants") or []
        count = sum(int(v.get("CurrentInstanceCount") or 0) for v in variants)
        config = await _describe(
            sm, r.region, "DescribeEndpointConfig", str(answer.get("EndpointConfigName", ""))
        )
        types = [str(v.get("InstanceType")) for v in config.get("ProductionVariants") or []]
        serverless = status.serverless_summary(config)
        if serverless is not None:  # billed per use: nothing runs by the hour
            r.instances, r.hourly = serverless, Decimal(0)
        elif types:
            r.instances = f"{count} x {types[0]}"
            r.hourly = catalog.hourly_cost(types[0], count)


async def _describe(sm: SageMaker, region: str, operation: str, name: str) -> dict[str, Any]:
    member = {
        "DescribeEndpoint": "EndpointName",
        "DescribeEndpointConfig": "EndpointConfigName",
        "DescribeInferenceComponent": "InferenceComponentName",
    }[operation]
    try:
        return await sm.call(region, operation, {member: name})
    except AwsError as error:
        if error.kind == "not_found":
            return {}
        raise


def traffic(account: Account, resources: Sequence[Resource], hours: float) -> None:
    """Invocations over the last `hours` per endpoint, from CloudWatch where it has data."""
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    period = max(60, int(hours * 3600) // 60 * 60)
    clients: dict[str, Any] = {}
    for r in resources:
        if r.kind != "endpoint":
            continue
        if r.region not in clients:
            clients[r.region] = account.session.client(
                "cloudwatch",
                region_name=r.region,
                config=Config(
                    connect_timeout=5,
                    retries={"mode": "standard", "max_attempts": 2},
                    user_agent_extra=f"llm-operator-cli/{__version__}",
                ),
            )
        components = [c.name for c in resources if c.endpoint == r.name and c.base is None]
        queries = [
            [
                {"Name": "EndpointName", "Value": r.name},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ]
        ]
        queries += [[{"Name": "InferenceComponentName", "Value": c}] for c in components]
        total, points = 0.0, 0
        try:
            for dimensions in queries:
                answer = clients[r.region].get_metric_statistics(
                    Namespace="AWS/SageMaker",
                    MetricName="Invocations",
                    Dimensions=dimensions,
                    StartTime=start,
                    EndTime=end,
                    Period=period,
                    Statistics=["Sum"],
                )
                for point in answer.get("Datapoints") or []:
                    points += 1
                    total += float(point.get("Sum") or 0)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            code = (
                exc.response.get("Error", {}).get("Code", "error")
                if isinstance(exc, botocore.exceptions.ClientError)
                else type(exc).__name__
            )
            r.traffic = f"unknown (CloudWatch: {code})"
            continue
        if not points:
            r.traffic = "unknown (no data)"
        elif total == 0:
            r.traffic = "idle"
        else:
            r.traffic = f"active ({int(total)} invocations)"


def classify(
    resources: Iterable[Resource],
    live: Mapping[str, str],
    retained: set[str],
) -> None:
    """`live`: uid -> namespace/name of every LLMEndpoint and LLMEndpointPool;
    `retained`: uids whose Retained Event is still there. A resource tagged retained is
    so whatever the Events say.

    Only this cluster's resources can be orphaned or retained: a uid names one object of
    one cluster, so a live uid makes a resource ours whatever its cluster tags say, and
    otherwise only its cluster tags can say the LLMEndpoint is gone rather than elsewhere.
    """
    for r in resources:
        if r.uid in live:
            r.state = IN_USE
        elif r.attribution is not Attribution.THIS:
            r.state = r.attribution.value
        elif r.retained_at is not None or r.uid in retained:
            r.state = RETAINED
        else:
            r.state = ORPHANED


def reported(resources: Iterable[Resource], all_clusters: bool = False) -> list[Resource]:
    """What audit lists: everything not in use, and in-use endpoints with no traffic;
    other clusters' resources only when asked for."""
    return [
        r
        for r in resources
        if (r.state != IN_USE or r.traffic == "idle") and (all_clusters or r.state != OTHER_CLUSTER)
    ]


# -- deleting ------------------------------------------------------------------------


def deletion_order(resources: Iterable[Resource]) -> list[Resource]:
    """Adapters, then base components, endpoints, endpoint configs, models."""
    return sorted(resources, key=lambda r: (_group(r), r.name))


async def delete(
    account: Account,
    victims: Sequence[Resource],
    here: Here,
    out: TextIO,
    timeout: float = 1800.0,
) -> list[dict[str, str]]:
    """Deletes in dependency order; each resource only if its tags still name the orphan
    uid and still attribute it as they did."""
    sm = account.sagemaker
    progress = Progress(len(victims), "deleted", sys.stderr)
    done: list[dict[str, str]] = []
    try:
        for group in range(7):
            batch = [r for r in deletion_order(victims) if _group(r) == group]
            for r in batch:
                outcome = await _delete_one(sm, r, here)
                done.append({"kind": r.kind, "name": r.name, "region": r.region, "result": outcome})
                progress.step(r.name)
                if not progress.enabled:
                    print(f"{r.kind} {r.name}: {outcome}", file=out)
            if group in (2, 3):  # what stands on something must be gone before it goes
                await _wait_gone(sm, [r for r in batch if _group(r) == group], timeout)
    finally:
        progress.close()
    return done


def _group(r: Resource) -> int:
    """0 alarms, 1 scalable targets (SageMaker refuses some deletes while one exists),
    2 adapters, 3 base components, 4 endpoints, 5 endpoint configs, 6 models."""
    order = {"alarm": 0, "scalable target": 1, "endpoint": 4, "endpoint config": 5, "model": 6}
    return order.get(r.kind, 2 if r.base else 3)


async def _delete_one(sm: SageMaker, r: Resource, here: Here) -> str:
    kind = _KIND[r.kind]
    try:
        tags = await sm.tags(r.region, r.arn, service=kind.service)
    except AwsError as error:
        return "already gone" if error.kind == "not_found" else f"skipped: {error.message}"
    if tags.get(MANAGED_BY_TAG) != MANAGED_BY or tags.get(UID_TAG) != r.uid:
        return "skipped: its tags changed since the audit (no longer this orphan's)"
    if RETAINED_TAG in tags and r.state != RETAINED:
        return "skipped: tagged retained since the audit"
    if r.state == OTHER_CLUSTER or here.attribute(tags) is not r.attribution:
        return "skipped: its cluster tags changed since the audit (another cluster's?)"
    if r.kind == "endpoint":
        answer = await _describe(sm, r.region, "DescribeEndpoint", r.name)
        current = answer.get("EndpointStatus")
        if current and current not in DELETABLE_STATUS:
            return f"skipped: endpoint is {current}; run audit --delete again once it settles"
    try:
        await sm.call(r.region, kind.delete_operation, kind.delete_request(r), service=kind.service)
    except AwsError as error:
        if error.kind == "not_found":
            return "already gone"
        return f"failed: {error.code}: {error.message}"
    return "deleted"


async def _wait_gone(sm: SageMaker, resources: Sequence[Resource], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = 0.5
    waiting = [r for r in resources if r.kind == "inference component"]
    while waiting and loop.time() < deadline:
        still = []
        for r in waiting:
            if await _describe(sm, r.region, "DescribeInferenceComponent", r.name):
                still.append(r)
        waiting = still
        if waiting:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)


# -- the command ---------------------------------------------------------------------


def render_table(resources: Sequence[Resource], all_count: int) -> str:
    if not resources:
        return (
            f"Nothing to report: all {all_count} SageMaker resources of this operator are in use.\n"
        )
    rows = [
        [
            r.state,
            r.kind,
            r.name,
            r.owner,
            r.uid[:8],
            r.status or "-",
            r.instances or "-",
            f"${catalog.format_usd(r.hourly)}" if r.hourly is not None else "-",
            r.traffic,
            f"{r.account}/{r.region}",
        ]
        for r in resources
    ]
    headers = [
        "STATE",
        "KIND",
        "NAME",
        "OWNER",
        "UID",
        "STATUS",
        "INSTANCES",
        "$/HOUR",
        "TRAFFIC",
        "WHERE",
    ]
    total = sum(
        (r.hourly or Decimal(0) for r in resources if r.state not in (IN_USE, OTHER_CLUSTER)),
        Decimal(0),
    )
    idle = sum((r.hourly or Decimal(0) for r in resources if r.state == IN_USE), Decimal(0))
    lines = [table(headers, rows), ""]
    unattributed = sum(r.state == UNATTRIBUTED for r in resources)
    others = sum(r.state == OTHER_CLUSTER for r in resources)
    lines.append(
        f"{sum(r.state == ORPHANED for r in resources)} orphaned, "
        f"{sum(r.state == RETAINED for r in resources)} retained, "
        + (f"{unattributed} unattributed, " if unattributed else "")
        + (f"{others} of other clusters, " if others else "")
        + f"{sum(r.state == IN_USE for r in resources)} idle in use; "
        f"${catalog.format_usd(total)}/hour without an LLMEndpoint, "
        f"${catalog.format_usd(idle)}/hour idle (catalog prices as of {catalog.load().as_of})."
    )
    return "\n".join(lines) + "\n"


def _confirm(victims: Sequence[Resource], assume_yes: bool) -> bool:
    unattributed = sum(v.state == UNATTRIBUTED for v in victims)
    if unattributed:
        sys.stderr.write(
            f"WARNING: {unattributed} of them are unattributed: no tag says which cluster "
            "made them. If another cluster sharing this AWS account still runs their "
            "LLMEndpoint, deleting them takes its endpoints down. Run audit from every "
            "cluster's kubeconfig first (their operators tag what is theirs).\n"
        )
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise CommandError("refusing to delete without a terminal to confirm on: pass --yes")
    sys.stderr.write(
        f"Delete the {len(victims)} {' and '.join(sorted({v.state for v in victims}))} "
        "SageMaker resources above? Type 'yes' to go on: "
    )
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() == "yes"


def run(
    cluster: Cluster,
    *,
    regions: Sequence[str],
    all_accounts: bool,
    idle_hours: float,
    do_delete: bool,
    include_retained: bool,
    assume_yes: bool,
    output: str,
    include_unattributed: bool = False,
    all_clusters: bool = False,
) -> int:
    cluster_id = cluster.cluster_id()
    if not cluster_id:
        raise CommandError(
            "may not get Namespace kube-system: its uid is the cluster identifier the "
            "operator tags every resource with, and audit needs it to tell this cluster's "
            "resources from other clusters' in the same AWS account (ask for get on namespaces)"
        )
    here = Here(cluster_id, OperatorSettings().cluster_name)
    live_objects = cluster.all_llmendpoints()
    live = {
        str(o["metadata"]["uid"]): f"{o['metadata']['namespace']}/{o['metadata']['name']}"
        for o in live_objects
    }
    # A pool's endpoint and configs carry the pool's uid: in use while the pool exists.
    pool_objects = cluster.all_pools()
    live |= {
        str(o["metadata"]["uid"]): f"LLMEndpointPool {o['metadata']['namespace']}/"
        f"{o['metadata']['name']}"
        for o in pool_objects
    }
    retained = {
        str(getattr(e.involved_object, "uid", "") or "") for e in cluster.events("Retained")
    }
    everything: list[Resource] = []
    deleted: list[dict[str, str]] = []
    skipped: list[str] = []
    for account in accounts(all_accounts):
        try:
            for region in regions_of(regions, account):
                found = asyncio.run(_scan_region(account, region, here, skipped))
                classify(found, live, retained)
                traffic(account, found, idle_hours)
                everything += found
        except AwsError as error:
            raise CommandError(
                f"SageMaker ({account.label}): {error.code}: {error.message}"
            ) from None
        finally:
            account.sagemaker.close()
    shown = reported(everything, all_clusters)
    costs, unread = audit_namespaces.read(cluster, everything, [*live_objects, *pool_objects])
    by_pool = audit_pools.by_pool(pool_objects, live_objects, everything)
    skipped += unread
    for line in skipped:
        print(f"warning: {line}", file=sys.stderr)
    if output == "json":
        body: dict[str, Any] = {
            "resources": [r.to_json() for r in shown],
            "managedResources": len(everything),
            "catalogAsOf": catalog.load().as_of,
            "idleHours": idle_hours,
            "clusterId": here.cluster_id,
            "warnings": skipped,
            "clusterName": here.cluster_name or None,
            "namespaces": [c.to_json() for c in costs],
            "pools": [p.to_json() for p in by_pool],
        }
    else:
        sys.stdout.write(render_table(shown, len(everything)))
        sys.stdout.write(audit_namespaces.render(costs))
        sys.stdout.write(audit_pools.render(by_pool))
    if do_delete:
        wanted = {ORPHANED}
        wanted |= {RETAINED} if include_retained else set()
        wanted |= {UNATTRIBUTED} if include_unattributed else set()
        victims = [r for r in shown if r.state in wanted]
        if not victims:
            print("Nothing to delete.", file=sys.stderr)
        elif _confirm(victims, assume_yes):
            for account in accounts(all_accounts):
                mine = [v for v in victims if v.account == account.label]
                try:
                    if mine:
                        deleted += asyncio.run(delete(account, mine, here, sys.stderr))
                finally:
                    account.sagemaker.close()
            gone = sum(d["result"] in ("deleted", "already gone") for d in deleted)
            print(f"Deleted {gone} of {len(deleted)}.", file=sys.stderr)
            for d in deleted:
                if d["result"] not in ("deleted", "already gone"):
                    print(f"  {d['kind']} {d['name']}: {d['result']}", file=sys.stderr)
        else:
            print("Nothing deleted.", file=sys.stderr)
    if output == "json":
        body["deleted"] = deleted
        dump_json(body)
    failed = [d for d in deleted if d["result"].startswith(("failed", "skipped"))]
    return 1 if failed else 0


async def _scan_region(
    account: Account, region: str, here: Here, skipped: list[str] | None = None
) -> list[Resource]:
    found = await scan(account, region, here, skipped=skipped)
    await describe_endpoints(account, found)
    return found
