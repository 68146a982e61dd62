"""kopf handlers of LLMEndpointPools: one daemon per pool runs its passes, a
finalizer-guarded delete handler deletes its endpoint once nothing is placed on it.

A pool's pass is `shell.pools.pool_pass` with the pool's identity (its namespace's
role, as for an LLMEndpoint), then its status: the endpoint, instances, the models
placed on it (their admission records) and its cost. Before anything is created or
grown, the pool is counted against its namespace's budgets at its ceiling (instance
type x maxCount, `shell.governance`): one that does not fit is Degraded/BudgetExceeded
and nothing is sent to SageMaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from llm_operator.api.models import GROUP, VERSION
from llm_operator.api.pool import POOL_PLURAL, LLMEndpointPoolSpec
from llm_operator.core import identity, pools
from llm_operator.core.render import PoolFacts
from llm_operator.shell import pools as shell_pools
from llm_operator.shell.aws import AwsError, Scope
from llm_operator.shell.reconciler import Reconciler

log = logging.getLogger("llm_operator")


def _reconciler(memo: kopf.Memo) -> Reconciler:
    found = memo.get("reconciler")
    if not isinstance(found, Reconciler):
        raise RuntimeError("the operator has not started")
    return found


async def pool_pass(
    r: Reconciler, body: Mapping[str, Any], *, deleting: bool
) -> tuple[float, bool]:
    """One pass of a pool; (seconds to the next, deletion done)."""
    meta = body["metadata"]
    ns, name = str(meta["namespace"]), str(meta["name"])
    cluster = r.cluster

    def event(type: str, reason: str, message: str) -> None:
        cluster.event(body, type, reason, message)

    async def write(value: Mapping[str, Any]) -> None:
        patch = getattr(cluster, "patch_pool_status", None)
        if patch is not None:
            await patch(ns, name, value)

    spec = shell_pools.parse_pool(body)
    if spec is None:
        if deleting:
            return 0.0, True  # never rendered, so never created anything
        await write({"phase": "Failed", "conditions": []})
        return r.settings.resync_seconds, False
    if r.renderer.cluster_id is None:
        r.renderer.cluster_id = await cluster.cluster_id() or None
    owner = shell_pools.owner_of(meta, r.settings.cluster_name, r.renderer.cluster_id or "")
    want = pools.render_pool(spec, owner)
    want = pools.DesiredPool(**{**want.__dict__, "deleted_at": meta.get("deletionTimestamp")})
    try:
        annotations = await cluster.namespace_annotations(ns)
        who = identity.resolve(ns, annotations, r.settings.namespace_roles, spec.aws.role_arn)
    except identity.IdentityError as exc:
        event("Warning", exc.reason, exc.message)
        return r.settings.resync_seconds, False
    place = Scope(want.region, who)
    if not deleting and not await _admitted(r, body, spec, write, event):
        return r.settings.resync_seconds, False
    facts = PoolFacts(ns, name, str(meta["uid"]), spec)
    placed = await shell_pools.placed_on(cluster, facts)
    was = (body.get("status") or {}).get("rollout") or {}
    rolled_back = str(was.get("target")) if was.get("phase") == pools.POOL_ROLLED_BACK else None
    try:
        plan, seen = await shell_pools.pool_pass(
            r.sagemaker,
            place,
            want,
            deleting=deleting,
            retain=spec.deletion_policy == "Retain",
            event=event,
            cache=r.observer.cache,
            tenants=shell_pools.tenants_of(placed),
            copies=shell_pools.copies_of(placed),
            rolled_back=rolled_back,
            max_age=r.settings.resync_seconds,
        )
    except AwsError as error:
        log.warning("LLMEndpointPool %s/%s: %s", ns, name, error.message)
        return r.settings.transition_poll_seconds * 4, False
    # What status said before this pass (a copy: writing it may change the body).
    previous: Mapping[str, Any] = copy.deepcopy(dict(body.get("status") or {}))
    value = shell_pools.pool_status(
        want, plan, seen, placed, int(meta.get("generation") or 0), previous
    )
    await write(value)
    if plan.degraded and plan.reason == pools.POOL_IN_USE:
        event("Warning", plan.reason, plan.message)
    _rollout_events(previous.get("rollout") or {}, value.get("rollout") or {}, event)
    if plan.done_deleting:
        return 0.0, True
    moving = bool(plan.actions) or not plan.settled
    delay = r.settings.transition_poll_seconds if moving else r.settings.resync_seconds
    return delay, False


def _rollout_events(
    was: Mapping[str, Any], now: Mapping[str, Any], event: Callable[[str, str, str], None]
) -> None:
    """One Event per step of a change of instance type, as for an LLMEndpoint's rollout."""
    key = (now.get("target"), now.get("phase"), now.get("step"))
    if not now or key == (was.get("target"), was.get("phase"), was.get("step")):
        return
    phase, step = now.get("phase"), now.get("step")
    what = f"{now.get('fromInstanceType')} -> {now.get('toInstanceType')}"
    if phase == "Refused":
        event("Warning", pools.POOL_MODELS_DO_NOT_FIT, str(now.get("message")))
    elif phase == "RolledBack":
        event("Warning", pools.POOL_ROLLED_BACK, str(now.get("message")))
    elif phase == "Succeeded":
        event("Normal", "RolloutSucceeded", f"{what}: {now.get('message')}")
    elif step == "Starting":
        event("Normal", "RolloutStarted", str(now.get("message")))
    else:
        event("Normal", "RolloutStep", f"[{step}] {now.get('message')}")


async def _admitted(
    r: Reconciler,
    body: Mapping[str, Any],
    spec: LLMEndpointPoolSpec,
    write: Callable[[Mapping[str, Any]], Awaitable[None]],
    event: Callable[[str, str, str], None],
) -> bool:
    """The pool fits its namespace's budgets (or none governs it); else its status says
    BudgetExceeded and a Warning Event says why once."""
    meta, status = body["metadata"], body.get("status") or {}
    ns = str(meta["namespace"])
    governing = await r.governance.governing(ns)

    async def record(value: dict[str, Any]) -> bool:
        await write({"policy": value})
        return True

    answer, kept = await r.governance.admit_pool(
        namespace=ns,
        name=str(meta["name"]),
        uid=str(meta["uid"]),
        instance_type=spec.instance.type,
        max_count=spec.instance.max_count,
        policies=governing,
        status=status,
        write=record,
    )
    if answer is None or answer.problem is None or answer.admitted:
        return True
    problem = answer.problem
    conditions = status.get("conditions") or []
    was: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Degraded"), {})
    if was.get("reason") != problem.reason or was.get("message") != problem.message:
        event("Warning", problem.reason, problem.message)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    await write(
        {
            "phase": status.get("phase") or "Pending",
            "observedGeneration": int(meta.get("generation") or 0),
            "policy": kept or None,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": problem.reason,
                    "message": problem.message,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Degraded",
                    "status": "True",
                    "reason": problem.reason,
                    "message": problem.message,
                    "lastTransitionTime": now,
                },
            ],
        }
    )
    return False


# The id kopf passes the pool index to every handler under (keyword argument).
POOL_INDEX = "pool_index"


@kopf.index(GROUP, VERSION, POOL_PLURAL, id=POOL_INDEX)
async def _pool_index(
    namespace: str | None, name: str, body: Any, **_: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every pool as last watched: an LLMEndpoint's pass reads its pool here, not from
    the API server (a pool not yet delivered is read directly)."""
    return {(str(namespace), name): copy.deepcopy(dict(body))}


@kopf.daemon(GROUP, VERSION, POOL_PLURAL, cancellation_timeout=5.0)
async def _keep_pool(stopped: Any, body: Any, memo: kopf.Memo, **_: Any) -> None:
    """Keeps one pool's endpoint in step for as long as the pool exists."""
    r = _reconciler(memo)
    while not stopped and not body.get("metadata", {}).get("deletionTimestamp"):
        try:
            delay, _done = await pool_pass(r, body, deleting=False)
        except Exception as exc:  # never crash the daemon; never hot-loop
            log.error("LLMEndpointPool pass failed: %s: %s", type(exc).__name__, exc)
            delay = r.settings.resync_seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), timeout=delay)


@kopf.on.delete(GROUP, VERSION, POOL_PLURAL, retries=None, backoff=5)
async def _delete_pool(body: Any, memo: kopf.Memo, **_: Any) -> None:
    """Deletes the pool's endpoint and configs once no model is placed on it (held,
    with a status naming them, until then); never another's component."""
    r = _reconciler(memo)
    latest: Mapping[str, Any] = body
    while True:
        delay, done = await pool_pass(r, latest, deleting=True)
        if done:
            return
        await asyncio.sleep(delay)
        meta = latest["metadata"]
        read = getattr(r.cluster, "read_pool", None)
        fresh = await read(meta["namespace"], meta["name"]) if read is not None else None
        latest = fresh or latest
