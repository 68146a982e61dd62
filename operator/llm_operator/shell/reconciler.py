"""One reconcile pass of one LLMEndpoint: render -> observe -> plan -> act -> status.

The reconciler is built once per replica from what it talks to (the SageMaker
adapter, the shared observer and a `kube.Cluster`), so tests drive it in-process
against the emulator. Every AWS action gives one Event; every failure a Warning
Event and a Degraded condition, never a crash. Warnings are announced once per
occurrence, remembered in status (planMemory.reported) so a restart does not
repeat them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from llm_operator.api import catalog
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import (
    adoption,
    desired,
    planner,
    policy,
    pools,
    registry,
    render,
    status,
)
from llm_operator.core.actions import Effect, Notice, digest
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.passes import hosted
from llm_operator.core.plan import Plan
from llm_operator.core.render import PoolFacts
from llm_operator.core.validation import Problem
from llm_operator.shell import metrics
from llm_operator.shell.adopt import adopt
from llm_operator.shell.aws import (
    BACKGROUND,
    CREATION_RANK,
    INTERACTIVE,
    AwsError,
    SageMaker,
    Scope,
)
from llm_operator.shell.execute import execute
from llm_operator.shell.governance import Governance, NoPolicies
from llm_operator.shell.kube import Cluster, KubeCluster
from llm_operator.shell.observe import Look, Observer
from llm_operator.shell.pools import Placements, placed_on
from llm_operator.shell.render import Renderer
from llm_operator.shell.secrets import Redactor
from llm_operator.shell.settings import OperatorSettings

# Consecutive retryable AWS failures shown only in the log before Degraded says so.
TRANSIENT_FAILURES = 3

log = logging.getLogger("llm_operator")

Outcome = Literal["settled", "progressing", "degraded", "error", "deleted", "superseded"]


@dataclasses.dataclass(frozen=True)
class PassResult:
    """What one pass did and when the next one is due."""

    outcome: Outcome
    delay: float  # seconds until the next pass
    deleted: bool = False  # deletion finished: the finalizer may go


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
    # The last status we wrote: the watched body may lag behind our own patch.
    written: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Scrubs the token last read for this resource out of unexpected error text.
    redact: Redactor = dataclasses.field(default_factory=Redactor)
    # The last pass found everything settled: the next one is a background re-check.
    steady: bool = False
    # Names this process created (the create carried our uid tag): no ListTags for them.
    created: set[str] = dataclasses.field(default_factory=set)
    # Where the last pass's calls went (for when SageMaker last answered there).
    place: Scope | None = None
    # The order in which this replica first saw it: while it is being created, its
    # calls wait behind those of LLMEndpoints seen before (aws.CREATION_RANK).
    rank: int = 0


# How often, in resync intervals, the observer lists scaling policies and alarms again
# (only someone acting changes them, and no SageMaker List shows them).
POLICIES_INTERVALS = 10
# How often, in resync intervals, a settled endpoint or inference component is described
# again although its listed status and LastModifiedTime did not move: a safety sweep.
# Whatever changes them moves one or the other, so drift is caught from the List at
# the next resync; the sweep costs 2 / SWEEP_INTERVALS Describes per LLMEndpoint per
# interval.
SWEEP_INTERVALS = 60


def production_observer(
    settings: OperatorSettings, sagemaker: SageMaker, clock: Callable[[], float] = time.monotonic
) -> Observer:
    """The observer as the operator runs it (`clock`: tests move time forward)."""
    return Observer(
        sagemaker,
        max_age=settings.transition_poll_seconds,
        describe_max_age=settings.resync_seconds * POLICIES_INTERVALS,
        targets_max_age=settings.resync_seconds,
        sweep_max_age=settings.resync_seconds * SWEEP_INTERVALS,
        search=True,
        clock=clock,
    )


class Reconciler:
    """Everything a replica shares across LLMEndpoints; built at operator start-up."""

    def __init__(
        self,
        settings: OperatorSettings,
        *,
        sagemaker: SageMaker,
        observer: Observer,
        cluster: Cluster,
        governance: Governance | None = None,
    ) -> None:
        self.settings = settings
        self.sagemaker = sagemaker
        self.observer = observer
        self.cluster = cluster
        # The LLMEndpointPolicies (none without a source: nothing is governed).
        self.governance = governance or Governance(
            NoPolicies(), max_age=settings.transition_poll_seconds
        )
        self.resources: dict[str, _Resource] = {}
        self._ranks = itertools.count()
        # spec.pool admissions, serialized per pool.
        self.placements = Placements()
        # The one render path, shared with `llm-operator plan`; reads the cluster id once.
        self.renderer = Renderer(sagemaker, settings)

    @classmethod
    def start(cls, settings: OperatorSettings) -> Reconciler:
        """The production wiring: boto3 from the AWS environment, the in-cluster API."""
        sagemaker = SageMaker(
            workers=settings.workers,
            calls_per_second=settings.aws_calls_per_second,
            burst=settings.aws_burst,
            identity_retry_seconds=settings.transition_poll_seconds * 4,
            connect_timeout=settings.aws_connect_timeout_seconds,
            read_timeout=settings.aws_read_timeout_seconds,
        )
        observer = production_observer(settings, sagemaker)
        cluster = KubeCluster()
        governance = Governance(cluster, max_age=settings.transition_poll_seconds)
        return cls(
            settings,
            sagemaker=sagemaker,
            observer=observer,
            cluster=cluster,
            governance=governance,
        )

    def close(self) -> None:
        self.sagemaker.close()
        close = getattr(self.cluster, "close", None)
        if close is not None:
            close()

    def resource(self, uid: str) -> _Resource:
        found = self.resources.get(uid)
        if found is None:
            found = self.resources[uid] = _Resource(rank=next(self._ranks))
        return found

    def wake(self, uid: str) -> None:
        self.resource(uid).wake.set()

    def _event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        self.cluster.event(body, type, reason, message)

    # -- the pieces of a pass -----------------------------------------------------

    async def _write_status(
        self, body: Mapping[str, Any], new: Mapping[str, Any], previous: Mapping[str, Any]
    ) -> None:
        """Merge-patches the keys that changed (kopf's status.kopf is left alone)."""
        changed = {k: v for k, v in new.items() if previous.get(k) != v}
        if not changed:
            return
        meta = body["metadata"]
        if await self.cluster.patch_status(meta["namespace"], meta["name"], changed):
            self.resource(meta["uid"]).written.update(changed)

    def _announce(
        self,
        body: Mapping[str, Any],
        reported: Iterable[str],
        warnings: Iterable[tuple[str, str]],
        redact: Redactor,
    ) -> tuple[str, ...]:
        """One Warning per (reason, message) not announced yet; the keys now active.

        The keys live in status with the planner's own (planMemory.reported), the one
        record of what was said, so a restart or a new replica stays quiet.
        """
        active: list[str] = []
        for reason, message in warnings:
            key = f"{reason}/{digest(message)}"
            if key in active:
                continue
            active.append(key)
            if key not in reported:
                self._event(body, "Warning", reason, redact(message))
        return tuple(active)

    async def _instance_type(self, place: Scope, config: str) -> str | None:
        """The instance type of an endpoint config (its Describe, read now)."""
        try:
            found = await self.observer.cache.describe(
                place, Kind.ENDPOINT_CONFIG, config, None, stale=True, full=True
            )
        except AwsError:
            return None  # the cost is an estimate: it does without
        variants = (found or {}).get("ProductionVariants") or [{}]
        kind = variants[0].get("InstanceType")
        return str(kind) if kind else None

    async def _act(
        self,
        body: Mapping[str, Any],
        place: Scope,
        plan: Plan,
        memory: PlanMemory,
        redact: Redactor,
        created: set[str],
    ) -> tuple[PlanMemory, AwsError | None]:
        """Executes the plan front to back; stops at the first error.

        Keeps `created` (the names this process made, tagged with our uid) in step.
        Before the first update that starts a rollout (its class declares
        `starts_rollout`) the plan's memory, which records it, is written to
        status with the time (`_remember_ahead`): a crash while the call is in flight
        or right after it leaves it on record, and SageMaker's LastModifiedTime then
        says whether it arrived. From then on that memory is kept even when a later
        action fails, so an update that succeeded is never forgotten.
        """
        ahead: PlanMemory | None = None
        for action in plan.actions:
            if ahead is None and action.starts_rollout:
                # Tags are recorded only once every call of the plan succeeded.
                ahead = dataclasses.replace(
                    plan.memory, update_issued_at=time.time(), tags=memory.tags
                )
                if not await self._remember_ahead(body, ahead):
                    return memory, None  # the object is gone: send nothing
            try:
                outcome = await execute(self.sagemaker, place, action, redact)
            except AwsError as error:
                self.observer.touched(place, action.kind, action.name)
                if error.kind == "conflict":
                    # Someone else's holds the name now (a policy's: its target's): read
                    # its tags from now on instead of trusting what this process made.
                    created.discard(action.name)
                    created.discard(str(getattr(action, "resource_id", action.name)))
                message = redact(f"{action.describe()} failed: {error.message}")
                log.warning(
                    "%s/%s: %s", body["metadata"]["namespace"], body["metadata"]["name"], message
                )
                self._event(body, "Warning", f"{action.operation}Failed", message)
                # Keep what the plan already reported, so its Events are not sent twice,
                # and the updates recorded before sending (unsent ones read as not
                # arrived, by SageMaker's LastModifiedTime, and are sent again).
                kept = dataclasses.replace(ahead or memory, reported=plan.memory.reported)
                if not error.retryable and error.kind != "not_found":
                    return kept.with_rejection(action, redact(error.message)), error
                return kept, error
            if action.notice is Notice.TAGGED:
                self.observer.tagged(place, *action.tagging())
            elif action.notice is Notice.RETAGGED:
                self.observer.retagged(place, [action.tagging()[0]])
            else:
                self.observer.touched(place, action.kind, action.name)
            if outcome.made:
                self.observer.made(
                    place,
                    action.kind,
                    action.name,
                    action.request(),
                    outcome.answer,
                    created=action.effect is Effect.CREATE,
                )
            if action.effect is Effect.CREATE:
                created.add(action.name)  # a create succeeds only with our uid tag on it
            elif action.effect is Effect.DELETE:
                created.discard(action.name)
            message = outcome.describe()
            log.info("%s/%s: %s", body["metadata"]["namespace"], body["metadata"]["name"], message)
            self._event(body, "Normal", action.operation, message)
        if ahead is not None:
            return dataclasses.replace(ahead, tags=plan.memory.tags), None
        return plan.memory, None

    async def _remember_ahead(self, body: Mapping[str, Any], memory: PlanMemory) -> bool:
        """Writes `memory` to status before an update is sent; False when the object is gone."""
        meta = body["metadata"]
        value = {status.MEMORY_KEY: memory.to_dict()}
        if not await self.cluster.patch_status(meta["namespace"], meta["name"], value):
            return False
        self.resource(meta["uid"]).written.update(value)
        return True

    # -- one pass -----------------------------------------------------------------

    async def reconcile(self, body: Mapping[str, Any], *, deleting: bool) -> PassResult:
        """One pass, whatever happens: errors become status and a later retry."""
        meta = body["metadata"]
        uid = meta["uid"]
        state = self.resource(uid)
        generation = int(meta.get("generation") or 0)
        previous: Mapping[str, Any] = {**dict(body.get("status") or {}), **state.written}
        # One being created (never Ready yet) is finished before those seen after it
        # are started; everything else goes first.
        creating = not deleting and not _ever_ready(previous)
        ranked = CREATION_RANK.set(state.rank if creating else None)
        try:
            return await self._reconcile(body, state, generation, previous, deleting)
        finally:
            CREATION_RANK.reset(ranked)

    async def _reconcile(
        self,
        body: Mapping[str, Any],
        state: _Resource,
        generation: int,
        previous: Mapping[str, Any],
        deleting: bool,
    ) -> PassResult:
        meta = body["metadata"]
        with metrics.timed_reconcile():
            try:
                result = await self._pass(body, state, generation, previous, deleting)
            except Degraded as exc:
                result = PassResult("degraded", self.settings.resync_seconds)
                await self._report_problem(body, state, generation, previous, exc, deleting)
            except AwsError as error:
                # Observing failed (throttled, unreachable, denied): back off; a blip
                # is only logged, a lasting or permanent failure is reported. No answer
                # at all (botocore already retried) is said at once, as AwsUnreachable.
                state.failures += 1
                result = PassResult("error", self._backoff(state, error.retryable))
                text = f"SageMaker: {error.code}: {error.message}"
                if error.kind == "unreachable":
                    # Each failed pass already waited for botocore's timeouts and
                    # retries: try again at the poll interval, not later, so SageMaker's
                    # return is noticed within one poll interval however long it was out.
                    result = PassResult("error", self.settings.transition_poll_seconds)
                    await self._report_unreachable(
                        body, state, generation, previous, error, deleting
                    )
                elif error.retryable and state.failures < TRANSIENT_FAILURES:
                    log.warning("%s/%s: %s (will retry)", meta["namespace"], meta["name"], text)
                else:
                    reported = Degraded("AwsError", text)
                    await self._report_problem(
                        body, state, generation, previous, reported, deleting
                    )
            except Exception as exc:  # never crash the daemon; never hot-loop
                state.failures += 1
                result = PassResult("error", self._backoff(state, retryable=True))
                text = state.redact(f"{type(exc).__name__}: {exc}")
                log.error("reconcile of %s/%s failed: %s", meta["namespace"], meta["name"], text)
                crashed = Degraded("ReconcileError", text)
                await self._report_problem(body, state, generation, previous, crashed, deleting)
        metrics.RECONCILES.labels(result=result.outcome).inc()
        return result

    def _backoff(self, state: _Resource, retryable: bool) -> float:
        if not retryable:
            return self.settings.resync_seconds
        fast = self.settings.transition_poll_seconds
        return float(min(self.settings.resync_seconds, fast * 2 ** min(state.failures, 10)))

    async def _pass(
        self,
        body: Mapping[str, Any],
        state: _Resource,
        generation: int,
        previous: Mapping[str, Any],
        deleting: bool,
    ) -> PassResult:
        meta = body["metadata"]
        governing = await self.governance.governing(meta["namespace"])
        rendering = await self.renderer.render(
            self.cluster, body, status=previous, deleting=deleting, governing=governing
        )
        rendered, redact = rendering.rendered, rendering.redact
        state.redact = redact
        if isinstance(rendering.outcome, Problem):
            raise Degraded(rendering.outcome.reason, rendering.outcome.message)
        place = state.place = rendering.outcome
        governed = rendered.parsed.governed
        record: dict[str, Any] = {}
        if not deleting and rendered.spec is not None:
            record = await self._admit(body, rendered.spec, governed, previous)
            if rendered.parsed.pool is not None:
                await self._place(body, rendered.spec, rendered.parsed.pool, previous)
        adopted = previous.get("adopted")
        if (
            not deleting
            and rendered.parsed.adopting is not None
            and (adopted or {}).get("endpoint") != rendered.desired.endpoint_name
        ):
            refusal = policy.adoption_refusal(
                governing, allowed_without=self.settings.allow_adoption
            )
            if refusal is not None:
                raise Degraded(policy.ADOPTION_NOT_ALLOWED, refusal)
            adopted = await self._adopt(body, place, rendered.desired, previous)
            rendered = rendered.with_adopted(adoption.from_record(adopted))
        # A spec that no longer renders is deleted by names alone (spec None).
        spec, want, memory = rendered.spec, rendered.desired, rendered.parsed.memory
        fresh = state.generation != generation or deleting
        # A settled resource accepts an inventory a resync old (even when its spec just
        # changed: the changed parts are described afresh) and re-checks in the
        # background lane; one that is moving or whose spec changed goes first. So does
        # this process's first pass over one whose status says it had settled at this
        # generation (after a restart): its re-check waits behind every spec change.
        restarted = (
            state.generation is None and not deleting and status.settled_at(previous, generation)
        )
        settled = (state.steady or restarted) and not deleting
        background = (settled and not fresh) or restarted
        state.steady = False
        # Only what this process created is trusted without ListTags; names in
        # status are not proof of ownership (someone may have replaced them).
        lookups = render.lookups(rendered)
        look = Look(
            ours=state.created,
            # After a restart what the cache holds was read moments ago (a Search):
            # only a spec change needs everything described afresh.
            full=fresh and not restarted,
            max_age=self.settings.resync_seconds if settled else None,
            lane=BACKGROUND if background else INTERACTIVE,
            alarms=lookups.alarms,
            identity=place.identity,
            extra=lookups.extra,
            scaling=lookups.scaling,
        )
        observing = self.observer.observe(want, look)
        if not background:
            observed = await observing
        else:
            # A spec change must not wait for this re-check's queued Describes.
            found = await _unless_woken(observing, state.wake)
            if found is None:
                state.steady = True  # nothing moved: the woken pass is still a settled one
                return PassResult("superseded", 0.0)
            observed = found
        # A name we created that is gone was deleted behind our back: should it come
        # back, it is someone else's until its tags say otherwise.
        state.created &= _present(observed)
        plan = planner.plan(
            want,
            observed,
            deleting=deleting,
            deletion_policy=rendered.parsed.deletion_policy,
            memory=memory,
        )
        memory, error = await self._act(body, place, plan, memory, redact, state.created)
        if not deleting:
            for type_, reason, message in rendered.events:
                self._event(body, type_, reason, redact(message))
        for event in plan.events:
            self._event(body, event.type, event.reason, redact(event.message))
        spec_warnings = self._announce(
            body,
            PlanMemory.from_dict(previous.get(status.MEMORY_KEY)).reported,
            ((w.reason, w.message) for w in rendered.warnings),
            redact,
        )
        memory = dataclasses.replace(memory, reported=memory.reported + spec_warnings)
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
        if want.adopted is not None and adoption.completed(want.adopted, observed, want.owner.uid):
            # From now on what was adopted is ours to delete with the LLMEndpoint.
            new_status["adopted"] = {**(adopted or {}), "completed": True}
        if spec is not None:
            new_status["modelSource"] = spec.model.source
            new_status["engine"] = spec.model.engine
            package = want.package
            new_status["model"] = (
                registry.status_of(package, want.not_retried) if package is not None else None
            )
        if want.host is not None:
            # On a pool: its share of the pool's cost, by the accelerators its copies hold;
            # moving onto it, the former endpoint's instances too (billed until it goes).
            cost = pools.share_of_pool(want, observed)
            former = hosted.former(want, observed)
            if former is not None:
                cost = pools.cost_while_moving(
                    cost,
                    await self._instance_type(place, former.config_name),
                    former.current_instances,
                )
            new_status["estimatedHourlyCostUSD"] = cost
        if governed.policies or record or previous.get("policy"):
            # The budget's record, then what the policies decide now (a record kept from
            # an earlier pass may hold the applied values of an older policy).
            new_status["policy"] = {**record, **governed.to_status()} if governed.policies else None
        new_status["aws"] = None  # SageMaker answered: no outage to describe
        if status.UNREACHABLE in PlanMemory.from_dict(previous.get(status.MEMORY_KEY)).reported:
            # The outage this LLMEndpoint announced is over: say so once.
            self._event(body, "Normal", "AwsReachable", f"SageMaker in {place} answers again")
        await self._write_status(body, _scrub_status(new_status, redact), previous)
        metrics.PHASE_BOOK.set(meta["uid"], plan.phase)
        if error is not None:
            state.failures += 1
            # A rejected request shows as Degraded on the next pass: make it soon.
            return PassResult("error", self._backoff(state, retryable=True))
        state.failures = 0
        if plan.done_deleting:
            return PassResult("deleted", 0.0, deleted=True)
        if plan.actions or not plan.settled:
            return PassResult("progressing", self.settings.transition_poll_seconds)
        state.steady = True
        outcome: Outcome = "degraded" if plan.degraded.status else "settled"
        return PassResult(outcome, self.settings.resync_seconds)

    async def _admit(
        self,
        body: Mapping[str, Any],
        spec: LLMEndpointSpec,
        governed: policy.Governed,
        previous: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The namespace's budgets: an LLMEndpoint that does not fit (new, or its ceiling
        raised) is Degraded/BudgetExceeded and nothing is created or grown; what runs
        keeps running. Returns status.policy's budget record."""
        meta = body["metadata"]
        governing = await self.governance.governing(meta["namespace"])

        async def write(record: dict[str, Any]) -> bool:
            value = {"policy": {**governed.to_status(), **record}}
            if not await self.cluster.patch_status(meta["namespace"], meta["name"], value):
                return False
            self.resource(meta["uid"]).written.update(value)
            return True

        answer, record = await self.governance.admit(
            namespace=meta["namespace"],
            name=meta["name"],
            uid=meta["uid"],
            spec=spec,
            policies=governing,
            status=previous,
            write=write,
        )
        if answer is not None and answer.problem is not None and not answer.admitted:
            raise Degraded(answer.problem.reason, answer.problem.message)
        return record

    async def _place(
        self,
        body: Mapping[str, Any],
        spec: LLMEndpointSpec,
        pool: PoolFacts,
        previous: Mapping[str, Any],
    ) -> None:
        """spec.pool: placed only when its copies fit at their ceiling beside the others'
        (Degraded PoolFull or PoolNotAllowed otherwise, nothing sent); what runs keeps
        running."""
        meta = body["metadata"]

        async def write(record: dict[str, Any]) -> bool:
            value = {pools.PLACEMENT_KEY: record}
            if not await self.cluster.patch_status(meta["namespace"], meta["name"], value):
                return False
            self.resource(meta["uid"]).written.update(value)
            return True

        async def list_all() -> Sequence[Mapping[str, Any]]:
            return await placed_on(self.cluster, pool)

        answer = await self.placements.admit(
            pool=pool,
            namespace=meta["namespace"],
            name=meta["name"],
            uid=meta["uid"],
            spec=spec,
            status=previous,
            list_all=list_all,
            write=write,
        )
        for waiting in self.placements.to_wake():
            self.wake(waiting)
        if not answer.admitted:
            raise Degraded(answer.reason, answer.message)

    async def _adopt(
        self,
        body: Mapping[str, Any],
        place: Scope,
        want: desired.DesiredState,
        previous: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Tags the endpoint to adopt (and what it uses) as ours and records it in status."""
        try:
            record, messages = await adopt(self.sagemaker, self.observer, place, want)
        except adoption.AdoptionError as exc:
            raise Degraded(exc.reason, exc.message) from None
        meta = body["metadata"]
        for message in messages:
            log.info("%s/%s: %s", meta["namespace"], meta["name"], message)
            self._event(body, "Normal", "Adopted", message)
        await self._write_status(body, {"adopted": record}, previous)
        return record

    async def _report_unreachable(
        self,
        body: Mapping[str, Any],
        state: _Resource,
        generation: int,
        previous: Mapping[str, Any],
        error: AwsError,
        deleting: bool,
    ) -> None:
        """AWS did not answer: Progressing/AwsUnreachable with the error's kind and the
        last contact, and one Warning Event per outage (remembered in
        planMemory.reported, which the next pass that reaches AWS forgets)."""
        meta = body["metadata"]
        place = state.place
        where = str(place) if place is not None else "its region"
        last = self.sagemaker.last_answer(place) if place is not None else None
        since = (
            f"last answer {last.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            if last is not None
            else "no answer since the operator started"
        )
        message = state.redact(
            f"SageMaker in {where} does not answer ({error.cause}: {error.message}); "
            f"{since}; generation {generation} waits for it, retried every "
            f"{self.settings.transition_poll_seconds:g} s"
        )
        memory = PlanMemory.from_dict(previous.get(status.MEMORY_KEY))
        reported = memory.reported
        if status.UNREACHABLE not in reported:
            log.warning("%s/%s: %s", meta["namespace"], meta["name"], message)
            self._event(body, "Warning", status.UNREACHABLE, message)
            reported = (*reported, status.UNREACHABLE)
        else:
            log.info("%s/%s: %s", meta["namespace"], meta["name"], message)
        new = status.build_unreachable_status(
            message=message,
            last_contact=last,
            generation=generation,
            previous=previous,
            now=datetime.now(UTC),
            deleting=deleting,
        )
        new[status.MEMORY_KEY] = dataclasses.replace(memory, reported=reported).to_dict()
        try:
            await self._write_status(body, new, previous)
        except Exception as exc:  # the API server is down too: the next pass retries
            log.warning("could not write status: %s", exc)
        metrics.PHASE_BOOK.set(meta["uid"], new["phase"])

    async def _report_problem(
        self,
        body: Mapping[str, Any],
        state: _Resource,
        generation: int,
        previous: Mapping[str, Any],
        problem: Degraded,
        deleting: bool,
    ) -> None:
        """Degraded condition plus one Warning Event per distinct problem."""
        meta = body["metadata"]
        memory = PlanMemory.from_dict(previous.get(status.MEMORY_KEY))
        reported = self._announce(
            body, memory.reported, [(problem.reason, problem.message)], state.redact
        )
        if reported[0] not in memory.reported:
            log.warning(
                "%s/%s: %s: %s", meta["namespace"], meta["name"], problem.reason, problem.message
            )
        new = status.build_problem_status(
            reason=problem.reason,
            message=problem.message,
            generation=generation,
            previous=previous,
            now=datetime.now(UTC),
            deleting=deleting,
        )
        # The planner's memory stays; what was announced is now this problem alone.
        new[status.MEMORY_KEY] = dataclasses.replace(memory, reported=reported).to_dict()
        try:
            await self._write_status(body, new, previous)
        except Exception as exc:  # the API server is down: the next pass retries
            log.warning("could not write status: %s", exc)
        metrics.PHASE_BOOK.set(meta["uid"], new["phase"])


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


def _ever_ready(status: Mapping[str, Any]) -> bool:
    """Whether status says the LLMEndpoint was Ready (at any generation)."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _present(observed: ObservedState) -> set[str]:
    names = set(observed.components) | set(observed.models) | set(observed.endpoint_configs)
    if observed.endpoint is not None:
        names.add(observed.endpoint.name)
    if observed.scaling.target is not None:
        names.add(observed.scaling.target.resource_id)
    if observed.scaling.alarm is not None:
        names.add(observed.scaling.alarm.name)
    return names


def _scrub_status(value: Any, redact: Redactor) -> Any:
    if not redact:
        return value
    return redact.scrub(value)
