"""kopf handlers: the thin shell around render -> observe -> plan -> act -> status.

One daemon per LLMEndpoint runs reconcile passes: fast (transition_poll_seconds)
while SageMaker is moving, slow (resync_seconds) once settled, woken at once by
the create/update/resume handlers through an asyncio.Event per uid. Deletion is
a finalizer-guarded delete handler that loops the same pass with deleting=True
until the planner says everything is gone (or retained). Every AWS action gives
one Event; every failure a Warning Event and a Degraded condition, never a
crash. kopf's own bookkeeping lives under status.kopf, not in annotations.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Coroutine, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from llm_operator.api import catalog
from llm_operator.api.models import GROUP, PLURAL, VERSION, DeletionPolicy, LLMEndpointSpec
from llm_operator.core import desired, naming, planner, status, validation
from llm_operator.core.actions import Effect
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.plan import Plan
from llm_operator.shell import metrics
from llm_operator.shell.aws import BACKGROUND, INTERACTIVE, AwsError, SageMaker
from llm_operator.shell.observe import Observer
from llm_operator.shell.secrets import Redactor, SecretError, read_secret_key
from llm_operator.shell.settings import OperatorSettings

FINALIZER = "llmoperator.io/finalizer"
# Consecutive retryable AWS failures shown only in the log before Degraded says so.
TRANSIENT_FAILURES = 3
# A placeholder token when the Secret is gone during deletion: names do not need it.
_NO_TOKEN = "unavailable"

log = logging.getLogger("llm_operator")


class Degraded(Exception):
    """A problem a person must fix (bad spec, missing Secret): reported, retried slowly."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclasses.dataclass
class _Resource:
    """Per-LLMEndpoint in-memory state (lost on restart by design: status holds the rest)."""

    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    generation: int | None = None
    failures: int = 0
    last_problem: str | None = None
    # The last status we wrote: the watched body may lag behind our own patch.
    written: dict[str, Any] = dataclasses.field(default_factory=dict)
    warned: set[str] = dataclasses.field(default_factory=set)
    # Scrubs the token last read for this resource out of unexpected error text.
    redact: Redactor = dataclasses.field(default_factory=Redactor)
    # The last pass found everything settled: the next one is a background re-check.
    steady: bool = False
    # Names this process created (the create carried our uid tag): no ListTags for them.
    created: set[str] = dataclasses.field(default_factory=set)


class Reconciler:
    """Everything a replica shares across LLMEndpoints; built at operator start-up."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.sagemaker = SageMaker(
            workers=settings.workers,
            calls_per_second=settings.aws_calls_per_second,
            burst=settings.aws_burst,
        )
        self.observer = Observer(
            self.sagemaker,
            max_age=settings.transition_poll_seconds,
            describe_max_age=settings.resync_seconds * 10,
        )
        self._kube_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kube")
        api = _kube_api_client()
        self.core = k8s.CoreV1Api(api)
        self.custom = k8s.CustomObjectsApi(api)
        self.resources: dict[str, _Resource] = {}

    def close(self) -> None:
        self.sagemaker.close()
        self._kube_pool.shutdown(wait=False, cancel_futures=True)

    def resource(self, uid: str) -> _Resource:
        found = self.resources.get(uid)
        if found is None:
            found = self.resources[uid] = _Resource()
        return found

    def wake(self, uid: str) -> None:
        self.resource(uid).wake.set()

    async def _kube(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._kube_pool, lambda: fn(*args, **kwargs))

    # -- the pieces of a pass -----------------------------------------------------

    async def _hf_token(self, spec: LLMEndpointSpec, namespace: str) -> str | None:
        ref = spec.model.hf_token_secret_ref
        if ref is None:
            return None
        try:
            token: str = await self._kube(read_secret_key, self.core, namespace, ref.name, ref.key)
        except SecretError as exc:
            raise Degraded(exc.reason, str(exc)) from None
        return token

    async def _render(
        self, body: kopf.Body, *, deleting: bool
    ) -> tuple[LLMEndpointSpec, desired.DesiredState, Redactor]:
        meta = body["metadata"]
        owner = desired.Owner(namespace=meta["namespace"], name=meta["name"], uid=meta["uid"])
        spec, problems = validation.parse_spec(dict(body.get("spec") or {}))
        if spec is not None:
            problems = validation.validate(spec, name=owner.name)
        errors = validation.errors(problems)
        if errors or spec is None:
            reason = errors[0].reason if errors else "InvalidSpec"
            raise Degraded(reason, "; ".join(p.message for p in errors) or "spec is invalid")
        state = self.resource(owner.uid)
        for problem in validation.warnings(problems):
            key = f"{problem.reason}/{problem.message}"
            if key not in state.warned:
                state.warned.add(key)
                kopf.warn(body, reason=problem.reason, message=problem.message)
        try:
            token = await self._hf_token(spec, owner.namespace)
        except Degraded:
            if not deleting:
                raise
            token = _NO_TOKEN
        try:
            want = desired.render(spec, owner, hf_token=token)
        except desired.RenderError as exc:
            raise Degraded("InvalidSpec", str(exc)) from None
        return spec, want, Redactor([token] if token and token != _NO_TOKEN else [])

    async def _write_status(
        self, body: kopf.Body, new: Mapping[str, Any], previous: Mapping[str, Any]
    ) -> None:
        """Merge-patches the keys that changed (kopf's status.kopf is left alone)."""
        changed = {k: v for k, v in new.items() if previous.get(k) != v}
        if not changed:
            return
        meta = body["metadata"]
        try:
            await self._kube(
                self.custom.patch_namespaced_custom_object_status,
                GROUP,
                VERSION,
                meta["namespace"],
                PLURAL,
                meta["name"],
                {"status": changed},
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status != 404:  # gone meanwhile: nothing to report on
                raise
            return
        self.resource(meta["uid"]).written.update(changed)

    async def _act(
        self,
        body: kopf.Body,
        region: str,
        plan: Plan,
        memory: PlanMemory,
        redact: Redactor,
        created: set[str],
    ) -> tuple[PlanMemory, AwsError | None]:
        """Executes the plan front to back; stops at the first error.

        Keeps `created` (the names this process made, tagged with our uid) in step.
        """
        for action in plan.actions:
            try:
                outcome = await self.sagemaker.execute(region, action, redact)
            except AwsError as error:
                self.observer.touched(region, action.kind, action.name)
                message = redact(f"{action.describe()} failed: {error.message}")
                log.warning(
                    "%s/%s: %s", body["metadata"]["namespace"], body["metadata"]["name"], message
                )
                kopf.warn(body, reason=f"{action.operation}Failed", message=message)
                # Keep what the plan already reported, so its Events are not sent twice.
                kept = dataclasses.replace(memory, reported=plan.memory.reported)
                if not error.retryable and error.kind != "not_found":
                    return kept.with_rejection(action, redact(error.message)), error
                return kept, error
            self.observer.touched(region, action.kind, action.name)
            if action.effect is Effect.CREATE:
                created.add(action.name)  # a create succeeds only with our uid tag on it
            elif action.effect is Effect.DELETE:
                created.discard(action.name)
            message = outcome.describe()
            log.info("%s/%s: %s", body["metadata"]["namespace"], body["metadata"]["name"], message)
            kopf.info(body, reason=action.operation, message=message)
        return plan.memory, None

    # -- one pass -----------------------------------------------------------------

    async def reconcile(self, body: kopf.Body, *, deleting: bool) -> tuple[float, bool]:
        """One pass; returns (seconds until the next one, deletion finished)."""
        meta = body["metadata"]
        uid = meta["uid"]
        state = self.resource(uid)
        generation = int(meta.get("generation") or 0)
        previous: Mapping[str, Any] = {**dict(body.get("status") or {}), **state.written}
        with metrics.timed_reconcile():
            try:
                result, delay, done = await self._pass(body, state, generation, previous, deleting)
            except Degraded as exc:
                result, done = "degraded", False
                delay = self.settings.resync_seconds
                await self._report_problem(body, state, generation, previous, exc, deleting)
            except AwsError as error:
                # Observing failed (throttled, unreachable, denied): back off; a blip
                # is only logged, a lasting or permanent failure is reported.
                result, done = "error", False
                state.failures += 1
                delay = self._backoff(state, error.retryable)
                text = f"SageMaker: {error.code}: {error.message}"
                if error.retryable and state.failures < TRANSIENT_FAILURES:
                    log.warning("%s/%s: %s (will retry)", meta["namespace"], meta["name"], text)
                else:
                    reported = Degraded("AwsError", text)
                    await self._report_problem(
                        body, state, generation, previous, reported, deleting
                    )
            except Exception as exc:  # never crash the daemon; never hot-loop
                result, done = "error", False
                state.failures += 1
                delay = self._backoff(state, retryable=True)
                text = state.redact(f"{type(exc).__name__}: {exc}")
                log.error("reconcile of %s/%s failed: %s", meta["namespace"], meta["name"], text)
                crashed = Degraded("ReconcileError", text)
                await self._report_problem(body, state, generation, previous, crashed, deleting)
        metrics.RECONCILES.labels(result=result).inc()
        return delay, done

    def _backoff(self, state: _Resource, retryable: bool) -> float:
        if not retryable:
            return self.settings.resync_seconds
        fast = self.settings.transition_poll_seconds
        return float(min(self.settings.resync_seconds, fast * 2 ** min(state.failures, 10)))

    async def _pass(
        self,
        body: kopf.Body,
        state: _Resource,
        generation: int,
        previous: Mapping[str, Any],
        deleting: bool,
    ) -> tuple[str, float, bool]:
        meta = body["metadata"]
        try:
            spec, want, redact = await self._render(body, deleting=deleting)
            policy: DeletionPolicy = spec.deletion_policy
        except Degraded:
            if not deleting:
                raise
            # A spec that no longer renders must still be deletable: names come from naming.
            want, redact, policy = self._fallback_desired(body), Redactor(), _raw_policy(body)
            spec = None
        state.redact = redact
        memory = PlanMemory.from_dict(previous.get(status.MEMORY_KEY))
        fresh = state.generation != generation or deleting
        # A settled resource accepts an inventory a resync old (even when its spec just
        # changed: the changed parts are described afresh) and re-checks in the
        # background lane; one that is moving or whose spec changed goes first.
        settled = state.steady and not deleting
        background = settled and not fresh
        state.steady = False
        # Only what this process created is trusted without ListTags; names in
        # status are not proof of ownership (someone may have replaced them).
        observing = self.observer.observe(
            want,
            ours=state.created,
            full=fresh,
            max_age=self.settings.resync_seconds if settled else None,
            lane=BACKGROUND if background else INTERACTIVE,
        )
        if not background:
            observed = await observing
        else:
            # A spec change must not wait for this re-check's queued Describes.
            found = await _unless_woken(observing, state.wake)
            if found is None:
                state.steady = True  # nothing moved: the woken pass is still a settled one
                return "superseded", 0.0, False
            observed = found
        # A name we created that is gone was deleted behind our back: should it come
        # back, it is someone else's until its tags say otherwise.
        state.created &= _present(observed)
        plan = planner.plan(
            want, observed, deleting=deleting, deletion_policy=policy, memory=memory
        )
        memory, error = await self._act(body, want.region, plan, memory, redact, state.created)
        for event in plan.events:
            kopf.event(body, type=event.type, reason=event.reason, message=redact(event.message))
        state.generation = generation
        new_status = status.build_status(
            desired=want,
            observed=observed,
            plan=dataclasses.replace(plan, memory=memory),
            generation=generation,
            previous=previous,
            now=datetime.now(UTC),
            hourly_usd_per_instance=catalog.hourly_cost(want.endpoint_config.instance_type, 1),
        )
        if spec is not None:
            new_status["modelSource"] = spec.model.source
        await self._write_status(body, _scrub_status(new_status, redact), previous)
        metrics.PHASE_BOOK.set(meta["uid"], plan.phase)
        state.last_problem = None
        if error is not None:
            state.failures += 1
            # A rejected request shows as Degraded on the next pass: make it soon.
            return "error", self._backoff(state, retryable=True), False
        state.failures = 0
        if plan.done_deleting:
            return "deleted", 0.0, True
        if plan.actions or not plan.settled:
            return "progressing", self.settings.transition_poll_seconds, False
        state.steady = True
        return (
            ("degraded" if plan.degraded.status else "settled"),
            self.settings.resync_seconds,
            False,
        )

    def _fallback_desired(self, body: kopf.Body) -> desired.DesiredState:
        meta = body["metadata"]
        ns, name = meta["namespace"], meta["name"]
        aws = (body.get("spec") or {}).get("aws") or {}
        region = aws.get("region") or self.settings.default_region
        endpoint = naming.endpoint_name(ns, name)
        return desired.DesiredState(
            owner=desired.Owner(namespace=ns, name=name, uid=meta["uid"]),
            region=str(region),
            endpoint_type="InferenceComponent",
            endpoint_name=endpoint,
            # No content to hash: names that no real model or config can have.
            model=desired.DesiredModel(
                name=naming.immutable_name(endpoint, Kind.MODEL, ""), create_request={}
            ),
            endpoint_config=desired.DesiredEndpointConfig(
                name=naming.immutable_name(endpoint, Kind.ENDPOINT_CONFIG, ""),
                create_request={},
                instance_type="",
                initial_instance_count=0,
            ),
        )

    async def _report_problem(
        self,
        body: kopf.Body,
        state: _Resource,
        generation: int,
        previous: Mapping[str, Any],
        problem: Degraded,
        deleting: bool,
    ) -> None:
        """Degraded condition plus one Warning Event per distinct problem."""
        message = problem.message
        if state.last_problem != f"{problem.reason}/{message}":
            meta = body["metadata"]
            log.warning("%s/%s: %s: %s", meta["namespace"], meta["name"], problem.reason, message)
            kopf.warn(body, reason=problem.reason, message=message)
            state.last_problem = f"{problem.reason}/{message}"
        new = status.build_problem_status(
            reason=problem.reason,
            message=message,
            generation=generation,
            previous=previous,
            now=datetime.now(UTC),
            deleting=deleting,
        )
        try:
            await self._write_status(body, new, previous)
        except Exception as exc:  # the API server is down: the next pass retries
            log.warning("could not write status: %s", exc)
        metrics.PHASE_BOOK.set(body["metadata"]["uid"], new["phase"])


async def _unless_woken(
    work: Coroutine[Any, Any, ObservedState], wake: asyncio.Event
) -> ObservedState | None:
    """`work`'s result, or None once `wake` is set first (`work` is then cancelled)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled():
        return task.result()
    await asyncio.wait({task})  # let it unwind (its worker threads finish on their own)
    return None


def _raw_policy(body: Mapping[str, Any]) -> DeletionPolicy:
    value = (body.get("spec") or {}).get("deletionPolicy")
    return "Retain" if value == "Retain" else "Delete"


def _present(observed: ObservedState) -> set[str]:
    names = set(observed.components) | set(observed.models) | set(observed.endpoint_configs)
    if observed.endpoint is not None:
        names.add(observed.endpoint.name)
    return names


def _scrub_status(value: Any, redact: Redactor) -> Any:
    if not redact:
        return value
    return redact.scrub(value)


def _kube_api_client() -> Any:
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()  # type: ignore[no-untyped-call]
    return k8s.ApiClient()


# -- kopf registration -----------------------------------------------------------

_RECONCILER: Reconciler | None = None


def reconciler() -> Reconciler:
    if _RECONCILER is None:
        raise RuntimeError("the operator has not started")
    return _RECONCILER


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    """kopf settings: bookkeeping in status, explicit Events only, our finalizer."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(field="status.kopf.diffbase")
    settings.posting.level = logging.INFO
    settings.posting.loggers = False
    # Watches restart when the API server goes away; keep the reconnect snappy.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.error_backoffs = [1, 2, 5, 10]


@kopf.on.startup()
async def _startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    global _RECONCILER
    ours = memo.get("operator_settings") if isinstance(memo, MutableMapping) else None
    op_settings = ours if isinstance(ours, OperatorSettings) else OperatorSettings()
    configure_kopf(settings)
    if _RECONCILER is None:
        _RECONCILER = Reconciler(op_settings)
        if op_settings.metrics_port:
            try:
                metrics.serve(op_settings.metrics_port)
            except OSError as exc:  # e.g. a second operator in one process
                log.warning("metrics not served on port %s: %s", op_settings.metrics_port, exc)


@kopf.on.cleanup()
async def _cleanup(**_: Any) -> None:
    global _RECONCILER
    if _RECONCILER is not None:
        _RECONCILER.close()
        _RECONCILER = None


@kopf.on.probe(id="reconciling")
async def _probe(**_: Any) -> int:
    return len(reconciler().resources)


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def _changed(uid: str, **_: Any) -> None:
    """Wakes the resource's daemon so a spec change is acted on at once."""
    reconciler().wake(uid)


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=5.0)
async def _keep_in_step(stopped: Any, body: Any, uid: str, **_: Any) -> None:
    """Reconciles one LLMEndpoint for as long as it exists."""
    r = reconciler()
    state = r.resource(uid)
    while not stopped and not body.get("metadata", {}).get("deletionTimestamp"):
        state.wake.clear()
        async with state.lock:
            delay, _done = await r.reconcile(body, deleting=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(state.wake, stopped), timeout=delay)


async def _either(wake: asyncio.Event, stopped: Any) -> None:
    waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def _delete(body: Any, uid: str, **_: Any) -> None:
    """Deletes (or retains) the SageMaker resources, then lets the finalizer go."""
    r = reconciler()
    state = r.resource(uid)
    while True:
        async with state.lock:
            delay, done = await r.reconcile(body, deleting=True)
        if done:
            r.resources.pop(uid, None)
            metrics.PHASE_BOOK.forget(uid)
            return
        await asyncio.sleep(delay)
