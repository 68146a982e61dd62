"""What the planner remembers between reconciles, stored in the resource's status.

SageMaker's failures are not retried hot: what failed is either visible in the
observed state (a Failed endpoint or component keeps its configuration) or kept
here. A failure is retried only once the spec asks for something else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from llm_operator.core.actions import Action


@dataclass(frozen=True)
class Failure:
    """A change SageMaker refused or rolled back, and why."""

    # Identifies the exact change: an endpoint config name (names carry a content
    # hash), a component fingerprint, or an action fingerprint.
    fingerprint: str
    reason: str
    # The spec generation refused (guarded rollouts name it); None when unknown.
    generation: int | None = None


@dataclass(frozen=True)
class PlanMemory:
    """What the planner needs to remember between reconciles (stored in status).

    The shell persists `Plan.memory` after every action of the plan succeeded, and
    before the first UpdateEndpoint or UpdateInferenceComponent of the plan (with
    `update_issued_at`), so a crash while it is in flight leaves it on record. If an
    action raised, it keeps the memory it passed in, or the one written before an
    update (plus `with_rejection` for an error that retrying the same request
    cannot fix). An update recorded but never sent is told from one that failed by
    SageMaker's LastModifiedTime (`core.passes.rollouts.arrived`).
    """

    # Endpoint config name of the UpdateEndpoint issued and not yet seen to finish.
    endpoint_update: str | None = None
    # An UpdateEndpoint SageMaker rolled back (endpoint InService on the old config
    # with a FailureReason); not re-issued while the desired config name is the same.
    failed_endpoint_update: Failure | None = None
    # Component name -> fingerprint of the Update* issued and not yet seen to finish.
    component_updates: Mapping[str, str] = field(default_factory=dict)
    # Component name -> the update SageMaker rolled back; not re-issued until the
    # component's desired fingerprint changes.
    failed_component_updates: Mapping[str, Failure] = field(default_factory=dict)
    # Action.key -> a request SageMaker rejected outright (ValidationException,
    # ResourceLimitExceeded); not re-sent until the request itself changes.
    rejected: Mapping[str, Failure] = field(default_factory=dict)
    # Keys of the Warning events already emitted for problems still present, so a
    # problem gives one Event, not one per reconcile. Keys are "<Reason>/...";
    # name clashes are exactly "NameConflict/<kind>/<resource name>".
    reported: tuple[str, ...] = ()
    # The rollout step last announced with an Event ("<target>/<step>"), so each
    # step of a guarded rollout gives one Event.
    rollout_step: str | None = None
    # The spec generation of the guarded update last issued: while SageMaker still
    # rolls it out, a newer generation is reported as pending, not as rolling.
    rollout_generation: int | None = None
    # When the shell recorded the last Update* before sending it (epoch seconds): the
    # update is remembered before SageMaker can act on it, so a crash while it is in
    # flight leaves it on record. SageMaker's LastModifiedTime after this time says it
    # arrived; not after, that it never did (it is sent again).
    update_issued_at: float | None = None
    # Names of the rollback alarms this LLMEndpoint has (or is creating), so they are
    # looked up, and deleted, even once the spec no longer asks for them.
    alarms: tuple[str, ...] = ()
    # spec.autoscaling is set, or was and its target, policies or alarm may remain:
    # the shell observes Application Auto Scaling and CloudWatch only then.
    autoscaled: bool = False
    # The effective tags besides the ownership tags (spec.aws.tags with the policies'
    # default and enforced tags) every resource of this LLMEndpoint carries; None
    # until first recorded. A change re-tags what exists (`core.retag`).
    tags: Mapping[str, str] | None = None
    # spec.pool, moved from an endpoint of its own: the pool's endpoint once status
    # named it (its components served there), so the former endpoint may go.
    moved_onto: str | None = None
    # spec.model.modelPackage: ARNs of package versions whose rollout an alarm (or
    # SageMaker) rolled back; not chosen again, so only a newer approved version rolls.
    package_rollbacks: tuple[str, ...] = ()
    # The model package ARN last seen serving as desired: a rollback of another change
    # (the spec's) while it serves does not count against that version.
    package_served: str | None = None

    def with_rejection(
        self, action: Action, reason: str, *, secrets: Iterable[str] = ()
    ) -> PlanMemory:
        """Remember that SageMaker rejected `action`; the shell calls this on such errors.

        `secrets` (the Hugging Face token) are blanked out of the reason, since a
        ValidationException may quote the request's values back.
        """
        for secret in secrets:
            if secret:
                reason = reason.replace(secret, "***")
        rejected = dict(self.rejected)
        rejected[action.key] = Failure(action.fingerprint(), reason)
        return replace(self, rejected=rejected)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape kept under status.

        Every key is always present (None when empty) and keyed collections are
        lists, because the shell writes status with a JSON merge patch: a missing
        key or a map entry left out would keep its old value there, a list is
        replaced whole.
        """

        def row(failure: Failure) -> dict[str, Any]:
            out: dict[str, Any] = {"fingerprint": failure.fingerprint, "reason": failure.reason}
            if failure.generation is not None:
                out["generation"] = failure.generation
            return out

        def entries(items: Mapping[str, Failure], key: str) -> list[dict[str, Any]]:
            return [{key: k, **row(v)} for k, v in sorted(items.items())]

        failed = self.failed_endpoint_update
        return {
            "endpointUpdate": self.endpoint_update,
            # A whole object in a merge patch merges key by key: a stale generation
            # would survive, so it is always written (None when unknown).
            "failedEndpointUpdate": ({"generation": None, **row(failed)} if failed else None),
            "componentUpdates": [
                {"name": k, "fingerprint": v} for k, v in sorted(self.component_updates.items())
            ],
            "failedComponentUpdates": entries(self.failed_component_updates, "name"),
            "rejected": entries(self.rejected, "action"),
            "reported": list(self.reported),
            "rolloutStep": self.rollout_step,
            "rolloutGeneration": self.rollout_generation,
            "updateIssuedAt": self.update_issued_at,
            "alarms": list(self.alarms),
            "autoscaled": self.autoscaled,
            "movedOnto": self.moved_onto,
            "packageRollbacks": list(self.package_rollbacks),
            "packageServed": self.package_served,
            # A list, so a key taken away does not survive the merge patch.
            "tags": (
                None
                if self.tags is None
                else [{"key": k, "value": v} for k, v in sorted(self.tags.items())]
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PlanMemory:
        """Read what `to_dict` wrote; anything missing or malformed reads as empty."""
        if not isinstance(data, Mapping):
            return cls()

        def failure(value: Any) -> Failure | None:
            if isinstance(value, Mapping):
                fp, reason = value.get("fingerprint"), value.get("reason")
                generation = value.get("generation")
                if isinstance(fp, str) and isinstance(reason, str):
                    return Failure(fp, reason, generation if isinstance(generation, int) else None)
            return None

        def rows(value: Any, key: str) -> list[tuple[str, Mapping[str, Any]]]:
            if not isinstance(value, list):
                return []
            return [
                (row[key], row)
                for row in value
                if isinstance(row, Mapping) and isinstance(row.get(key), str)
            ]

        def failures(value: Any, key: str) -> dict[str, Failure]:
            out = {name: failure(row) for name, row in rows(value, key)}
            return {k: v for k, v in out.items() if v is not None}

        endpoint_update = data.get("endpointUpdate")
        reported = data.get("reported")
        step = data.get("rolloutStep")
        rollout_generation = data.get("rolloutGeneration")
        issued_at = data.get("updateIssuedAt")
        alarms = data.get("alarms")
        tags = data.get("tags")
        rollbacks = data.get("packageRollbacks")
        return cls(
            package_rollbacks=(
                tuple(a for a in rollbacks if isinstance(a, str))
                if isinstance(rollbacks, list)
                else ()
            ),
            endpoint_update=endpoint_update if isinstance(endpoint_update, str) else None,
            failed_endpoint_update=failure(data.get("failedEndpointUpdate")),
            component_updates={
                name: row["fingerprint"]
                for name, row in rows(data.get("componentUpdates"), "name")
                if isinstance(row.get("fingerprint"), str)
            },
            failed_component_updates=failures(data.get("failedComponentUpdates"), "name"),
            rejected=failures(data.get("rejected"), "action"),
            reported=(
                tuple(r for r in reported if isinstance(r, str))
                if isinstance(reported, list)
                else ()
            ),
            rollout_step=step if isinstance(step, str) else None,
            rollout_generation=(
                rollout_generation
                if isinstance(rollout_generation, int) and not isinstance(rollout_generation, bool)
                else None
            ),
            alarms=(
                tuple(a for a in alarms if isinstance(a, str)) if isinstance(alarms, list) else ()
            ),
            autoscaled=data.get("autoscaled") is True,
            moved_onto=_str_or_none(data.get("movedOnto")),
            package_served=_str_or_none(data.get("packageServed")),
            tags=(
                {
                    row["key"]: row["value"]
                    for row in tags
                    if isinstance(row, Mapping)
                    and isinstance(row.get("key"), str)
                    and isinstance(row.get("value"), str)
                }
                if isinstance(tags, list)
                else None
            ),
            update_issued_at=(
                float(issued_at)
                if isinstance(issued_at, int | float) and not isinstance(issued_at, bool)
                else None
            ),
        )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
