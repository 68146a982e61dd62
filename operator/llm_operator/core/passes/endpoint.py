"""The endpoint: created on the desired config, moved to a new config with
`UpdateEndpoint` (guarded under spec.rollout), and replaced after a failure the
spec has moved on from."""

from __future__ import annotations

from llm_operator.api.models import VARIANT_ENDPOINT_TYPES
from llm_operator.core.actions import CreateEndpoint, DeleteEndpoint, UpdateEndpoint
from llm_operator.core.compare import COMPONENT_TRANSITIONING
from llm_operator.core.memory import Failure
from llm_operator.core.observed import ObservedEndpoint
from llm_operator.core.passes import hosted
from llm_operator.core.passes.dependencies import ensure_config
from llm_operator.core.passes.rollouts import (
    UNEXPLAINED_ROLLBACK,
    arrived,
    report,
    rolled_back,
    superseded,
)
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import Problem


def converge(p: Pass) -> bool:
    """Converge the endpoint; True when its components may be acted on now."""
    if p.desired.host is not None:
        return hosted.ready(p)
    desired_config = p.desired.endpoint_config.name
    ep = p.observed.endpoint
    if ep is None:
        p.endpoint_update = None
        p.failed_endpoint_update = None
        if ensure_config(p, creating_endpoint=True):
            p.actions.append(
                CreateEndpoint(
                    name=p.desired.endpoint_name,
                    config_name=desired_config,
                    tags=p.desired.tags,
                )
            )
        return False
    if ep.status == "Failed":
        if ep.config_name == desired_config:
            reason = ep.failure_reason or "no reason given"
            p.problems.append(
                Problem(
                    "EndpointFailed",
                    f"SageMaker endpoint {ep.name} failed: {reason}",
                    f"EndpointFailed/{ep.name}/{ep.config_name}",
                )
            )
        else:
            # The spec changed since the failure: start over with the new config.
            p.actions.append(DeleteEndpoint(name=ep.name))
            p.waiting.append(f"failed endpoint {ep.name} to be deleted and created again")
        return False
    if ep.status == "UpdateRollbackFailed":
        reason = ep.failure_reason or "no reason given"
        p.problems.append(
            Problem(
                "UpdateRollbackFailed",
                f"SageMaker endpoint {ep.name} could not roll back an update: {reason}",
                f"UpdateRollbackFailed/{ep.name}",
            )
        )
        return False
    if ep.status != "InService":
        p.waiting.append(f"endpoint {ep.name} to leave {ep.status}")
        _rollout(p, ep)
        return False
    return _in_service(p, ep)


def _rollout(p: Pass, ep: ObservedEndpoint) -> None:
    """An update of ours under way: its step, as the new fleet's VariantStatus says.

    When the spec changed since (a newer generation), what SageMaker rolls is still
    the update issued before: reported as such, the new generation as pending.
    """
    desired_config = p.desired.endpoint_config.name
    running = ep.pending_config or p.endpoint_update
    if running is None or running not in (desired_config, p.endpoint_update):
        return
    if ep.status == "RollingBack":
        step = "RollingBack"
        message = f"Rolling back: {ep.failure_reason or 'no reason given'}"
    else:
        step = ep.deployment_status or ep.status
        message = ep.deployment_message or f"Endpoint {ep.name} is {ep.status}"
    phase = "Baking" if ep.deployment_status == "Baking" else "InProgress"
    report(p, phase, running, message, step=step, **superseded(p, running, desired_config))


def _in_service(p: Pass, ep: ObservedEndpoint) -> bool:
    desired_config = p.desired.endpoint_config.name
    generation = p.desired.rollout.generation if p.desired.rollout else None
    if p.endpoint_update is not None:
        if ep.config_name == p.endpoint_update:
            if ep.config_name == desired_config:
                report(
                    p,
                    "Succeeded",
                    desired_config,
                    f"Endpoint {ep.name} serves endpoint config {desired_config}",
                )
            p.endpoint_update = None
        elif not arrived(p, ep.last_modified, ep.failure_reason):
            p.endpoint_update = None  # never arrived: sent (once) below
        else:
            # It arrived and ended on another config: rolled back, even when a later
            # scaling update has cleared SageMaker's FailureReason since.
            if p.endpoint_update == desired_config:
                p.failed_endpoint_update = Failure(
                    desired_config, ep.failure_reason or UNEXPLAINED_ROLLBACK, generation
                )
            p.endpoint_update = None
    elif p.failed_endpoint_update is None and _rolled_back_before(p, ep):
        # Nothing remembered (status lost or written by an older version), but
        # SageMaker's own record says an update to this config was rolled back.
        p.failed_endpoint_update = Failure(
            desired_config, ep.failure_reason or UNEXPLAINED_ROLLBACK, generation
        )
    failed = p.failed_endpoint_update
    if failed is not None and (
        failed.fingerprint != desired_config or ep.config_name == desired_config
    ):
        p.failed_endpoint_update = failed = None
    if ep.config_name == desired_config:
        return True
    if failed is not None and p.desired.rollout is not None:
        rolled_back(p, f"endpoint {ep.name}", desired_config, failed, ep.config_name)
        return True  # still serving on the old config: components can go on
    if failed is not None:
        p.problems.append(
            Problem(
                "UpdateFailed",
                f"SageMaker rolled back endpoint {ep.name} to {ep.config_name}: {failed.reason}",
                f"UpdateFailed/{ep.name}/{failed.fingerprint}",
            )
        )
        return True  # still serving on the old config: components can go on
    busy = [c.name for c in p.observed.components.values() if c.status in COMPONENT_TRANSITIONING]
    if busy:
        p.waiting.append(
            f"inference components {', '.join(sorted(busy))} before updating the endpoint"
        )
        return False
    if p.desired.rollout is not None and not p.alarms_ok:
        p.waiting.append("the rollback alarms' names to be free")
        return False
    if ensure_config(p, creating_endpoint=False):
        rollout = p.desired.rollout
        p.actions.append(
            UpdateEndpoint(
                name=ep.name,
                config_name=desired_config,
                deployment=rollout.endpoint_deployment if rollout else None,
                retain_instance_count=(
                    p.desired.scaling is not None
                    and p.desired.endpoint_type in VARIANT_ENDPOINT_TYPES
                ),
            )
        )
        p.endpoint_update = desired_config
        if rollout is not None:
            p.rollout_generation = rollout.generation
        report(
            p,
            "InProgress",
            desired_config,
            f"Updating endpoint {ep.name} to endpoint config {desired_config}",
            step="Starting",
        )
    return False


def _rolled_back_before(p: Pass, ep: ObservedEndpoint) -> bool:
    """SageMaker's record alone shows an update to the desired config rolled back.

    The endpoint serves another config with a FailureReason set by a change after
    the desired config was created: only an update to that config (ours, named by
    its content) can have failed since.
    """
    config = p.observed.endpoint_configs.get(p.desired.endpoint_config.name)
    return (
        ep.config_name != p.desired.endpoint_config.name
        and ep.failure_reason is not None
        and config is not None
        and config.created is not None
        and ep.last_modified is not None
        and ep.last_modified > config.created
    )
