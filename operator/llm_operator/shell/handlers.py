"""kopf handlers: when a pass runs, for which LLMEndpoint, and the finalizer.

One daemon per LLMEndpoint runs reconcile passes: fast (transition_poll_seconds)
while SageMaker is moving, slow (resync_seconds) once settled, woken at once by
the create/update handlers through an asyncio.Event per uid. Deletion is
a finalizer-guarded delete handler running passes with deleting=True, each after
the previous one's delay, until the planner says everything is gone (or
retained). It waits inside the handler rather than raising kopf's
TemporaryError, which kopf logs at ERROR ("failed temporarily"): waiting for
SageMaker to delete is the normal course of a deletion. The `Reconciler` lives
in kopf's memo (`memo.reconciler`), built at start-up unless the caller put one
there. kopf's own bookkeeping lives under
status.kopf, not in annotations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from llm_operator.api.models import GROUP, PLURAL, VERSION
from llm_operator.api.policy import POLICY_PLURAL
from llm_operator.core import policy
from llm_operator.core.actions import digest
from llm_operator.shell import metrics
from llm_operator.shell.kube import KubeCluster, NamespaceFacts, namespace_facts
from llm_operator.shell.reconciler import Reconciler
from llm_operator.shell.settings import OperatorSettings

FINALIZER = "llmoperator.io/finalizer"

log = logging.getLogger("llm_operator")


class CompactDiffBase(kopf.StatusDiffBaseStorage):
    """kopf's diff base as one digest per section, not the whole spec.

    kopf compares it to tell a spec change from other writes; our only
    change-detecting handler just wakes the daemon, so a digest is all it needs,
    and `kubectl describe` shows one short line instead of the spec as JSON.
    """

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        essence = super().build(body=body, extra_fields=extra_fields)
        return {key: {"digest": digest(value)} for key, value in essence.items()}


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    """kopf settings: bookkeeping in status, explicit Events only, our finalizer."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.diffbase_storage = CompactDiffBase(field="status.kopf.diffbase")
    settings.posting.level = logging.INFO
    settings.posting.loggers = False
    # Watches restart when the API server goes away; keep the reconnect snappy.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.error_backoffs = [1, 2, 5, 10]


# The id kopf passes the index to every handler under (keyword argument).
NAMESPACE_INDEX = "namespace_index"


@kopf.index("v1", "namespaces", id=NAMESPACE_INDEX)
async def _namespace_index(
    name: str,
    uid: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    **_: Any,
) -> dict[str, NamespaceFacts]:
    """Every Namespace's uid, labels and role annotations, kept by kopf's watch of
    Namespaces (cluster-wide, whichever namespaces the operator serves): passes read
    them here, not from the API server. kopf fills the index before any other
    handler runs, and an annotation changed reaches it before the next pass."""
    return {name: namespace_facts(uid, labels, annotations)}


@kopf.on.startup()
async def _startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    """Builds the reconciler into the memo, unless the caller already put one there."""
    configure_kopf(settings)
    if memo.get("reconciler") is not None:
        return
    found = memo.get("operator_settings")
    op_settings = found if isinstance(found, OperatorSettings) else OperatorSettings()
    memo.reconciler = Reconciler.start(op_settings)
    if isinstance(memo.reconciler.cluster, KubeCluster):
        memo.reconciler.cluster.watch_namespaces(kwargs[NAMESPACE_INDEX])
        memo.reconciler.cluster.watch_pools(kwargs[pool_handlers.POOL_INDEX])
        memo.policy_statuses = asyncio.create_task(
            _policy_statuses(memo.reconciler, memo.reconciler.cluster)
        )
    if op_settings.metrics_port:
        try:
            metrics.serve(op_settings.metrics_port)
        except OSError as exc:  # e.g. a second operator in one process
            log.warning("metrics not served on port %s: %s", op_settings.metrics_port, exc)


@kopf.on.cleanup()
async def _cleanup(memo: kopf.Memo, **_: Any) -> None:
    task = memo.get("policy_statuses")
    if isinstance(task, asyncio.Task):
        task.cancel()
    found = memo.get("reconciler")
    if isinstance(found, Reconciler):
        found.close()


def _reconciler(memo: kopf.Memo) -> Reconciler:
    found = memo.get("reconciler")
    if not isinstance(found, Reconciler):
        raise RuntimeError("the operator has not started")
    return found


@kopf.on.probe(id="reconciling")
async def _probe(memo: kopf.Memo, **_: Any) -> int:
    return len(_reconciler(memo).resources)


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def _changed(uid: str, memo: kopf.Memo, **_: Any) -> None:
    """Wakes the resource's daemon so a spec change is acted on at once.

    Not on resume: at start-up every daemon makes its first pass anyway, and a wake
    would cut short the background re-check of an LLMEndpoint that had settled (a
    spec changed while the operator was down is an update to kopf)."""
    _reconciler(memo).wake(uid)


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=5.0)
async def _keep_in_step(stopped: Any, body: Any, uid: str, memo: kopf.Memo, **_: Any) -> None:
    """Reconciles one LLMEndpoint for as long as it exists."""
    r = _reconciler(memo)
    state = r.resource(uid)
    while not stopped and not body.get("metadata", {}).get("deletionTimestamp"):
        state.wake.clear()
        async with state.lock:
            result = await r.reconcile(body, deleting=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(state.wake, stopped), timeout=result.delay)


async def _either(wake: asyncio.Event, stopped: Any) -> None:
    waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


@kopf.on.delete(GROUP, VERSION, PLURAL, retries=None, backoff=5)
async def _delete(body: Any, uid: str, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Deletes (or retains) the SageMaker resources, then lets the finalizer go.

    Passes until deletion is done, each after the previous one's delay (the
    reconciler reports real failures itself); an exception escaping a pass still
    reaches kopf, which retries after `backoff`.
    """
    r = _reconciler(memo)
    state = r.resource(uid)
    latest: Mapping[str, Any] = body
    while True:
        async with state.lock:
            result = await r.reconcile(latest, deleting=True)
        if result.deleted:
            break
        logger.debug(
            "SageMaker resources are still being deleted; next pass in %.1f s", result.delay
        )
        await asyncio.sleep(result.delay)
        # kopf's body is this call's snapshot: a spec changed meanwhile (deletionPolicy
        # Retain to let go of a stuck deletion) must count, as on kopf's own retries.
        meta = latest["metadata"]
        latest = await r.cluster.llmendpoint(meta["namespace"], meta["name"]) or latest
    r.resources.pop(uid, None)
    metrics.PHASE_BOOK.forget(uid)
    # Room was made in the namespace's budget: who waits for it tries again now.
    for waiting in r.governance.room_made(body["metadata"]["namespace"]):
        r.wake(waiting)
    # Room was made on its pool, if it had one: who waits there tries again.
    for waiting in set().union(*r.placements.waiting.values()):
        r.wake(waiting)


# -- LLMEndpointPolicies ----------------------------------------------------------------


@kopf.on.event(GROUP, VERSION, POLICY_PLURAL)
async def _policy_changed(event: Mapping[str, Any], name: str, memo: kopf.Memo, **_: Any) -> None:
    """A policy's spec changed (its generation moved) or it went: every pass reads the
    policies again, and refused LLMEndpoints try again at once (a raised budget makes
    room). An event handler, not a change handler: kopf then keeps no state on the
    admin's object and needs no write access to it."""
    r = _reconciler(memo)
    obj = event.get("object") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    seen = r.governance.generations
    if event.get("type") != "DELETED" and seen.get(name) == generation:
        return  # our own status write
    if event.get("type") == "DELETED":
        seen.pop(name, None)
    else:
        seen[name] = generation
    r.governance.invalidate()
    for uids in list(r.governance.waiting.values()):
        for uid in list(uids):
            r.wake(uid)


async def _policy_statuses(r: Reconciler, cluster: KubeCluster) -> None:
    """Writes every policy's status (usage per governed namespace, problems) once per
    resync interval: kubectl get llmpol reads it. One task for all policies, so kopf
    keeps no state (finalizers, progress) on the admin's objects; the namespaces and
    LLMEndpoints are read once per round for all of them."""
    while True:
        try:
            policies = await r.governance.policies(fresh=True)
            if policies:
                namespaces, endpoints = await _policy_inputs(r, cluster)
                for found in policies:
                    status = policy.policy_status(found, policies, namespaces, endpoints)
                    status["updatedTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    await cluster.patch_policy_status(found.name, status)
        except Exception as exc:  # the next interval tries again; never crash the task
            log.warning("LLMEndpointPolicy status not written: %s", exc)
        await asyncio.sleep(r.settings.resync_seconds)


async def _policy_inputs(
    r: Reconciler, cluster: KubeCluster
) -> tuple[dict[str, Mapping[str, str]], list[Mapping[str, Any]]]:
    """Every watched namespace's labels and every LLMEndpoint and LLMEndpointPool in
    them (a pool counts against its namespace's budgets)."""
    namespaces = await cluster.namespaces()
    watched = r.settings.namespaces
    if watched:
        namespaces = {n: labels for n, labels in namespaces.items() if n in watched}
        endpoints = [e for n in namespaces for e in await cluster.list_llmendpoints(n)]
        endpoints += [p for n in namespaces for p in await cluster.list_pools(n)]
    else:
        endpoints = list(await cluster.list_llmendpoints(None))
        endpoints += await cluster.list_pools(None)
    return namespaces, endpoints


# LLMEndpointPools: their handlers register with kopf on import.
from llm_operator.shell import pool_handlers  # noqa: E402
