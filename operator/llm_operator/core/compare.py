"""Comparing what should exist with what SageMaker reports, and SageMaker's states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_operator.core.actions import digest
from llm_operator.core.desired import DesiredComponent
from llm_operator.core.observed import ObservedComponent, serving_matches, serving_members

# Endpoint states that end on their own; SageMaker refuses changes meanwhile.
ENDPOINT_TRANSITIONING = frozenset(
    {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "OutOfService"}
)
COMPONENT_TRANSITIONING = frozenset({"Creating", "Updating", "Deleting"})
# States from which DeleteEndpoint / DeleteInferenceComponent are accepted.
ENDPOINT_DELETABLE = frozenset({"InService", "Failed", "UpdateRollbackFailed"})
COMPONENT_DELETABLE = frozenset({"InService", "Failed"})


def component_fingerprint(component: DesiredComponent) -> str:
    """Identifies one desired version of a component: its specification, never its copies.

    A copy count is not a version: the autoscaler moves it at will, and a count
    alone changes in place without a rollout. A remembered failure (a rollback) or
    an update in flight is about what was rolled out, so it must survive the count
    moving; copies are compared on their own (`copies_match`).
    """
    return digest({"specification": component.specification})


# --- comparing desired and observed components -------------------------------------


def spec_model(component: DesiredComponent) -> str | None:
    value = component.specification.get("ModelName")
    return value if isinstance(value, str) else None


def spec_artifact(component: DesiredComponent) -> str | None:
    container = component.specification.get("Container")
    if isinstance(container, Mapping):
        value = container.get("ArtifactUrl")
        return value if isinstance(value, str) else None
    return None


def spec_base(component: DesiredComponent) -> str | None:
    value = component.specification.get("BaseInferenceComponentName")
    return value if isinstance(value, str) else component.base_component


def spec_compute(component: DesiredComponent) -> Mapping[str, Any] | None:
    value = component.specification.get("ComputeResourceRequirements")
    return value if isinstance(value, Mapping) else None


def _compute_matches(want: Mapping[str, Any] | None, have: Mapping[str, float] | None) -> bool:
    """Compare only what we ask for: SageMaker may describe defaults we never set."""
    if not want:
        return True
    if have is None:
        return False
    for key, value in want.items():
        if key not in have:
            return False
        try:
            if float(have[key]) != float(value):
                return False
        except (TypeError, ValueError):
            return False
    return True


def spec_matches(desired: DesiredComponent, observed: ObservedComponent) -> bool:
    """Whether the component runs the desired specification (copies aside).

    Only what the desired specification sets is compared: SageMaker describes
    more (an adapter's inherited model, a base's deployed container) than we send.
    """
    model, artifact = spec_model(desired), spec_artifact(desired)
    return (
        (model is None or model == observed.model_name)
        and (artifact is None or artifact == observed.artifact_url)
        and spec_base(desired) == observed.base_component
        and _compute_matches(spec_compute(desired), observed.compute)
        and serving_matches(serving_members(desired.specification), observed.serving)
    )


def copies_match(desired: DesiredComponent, observed: ObservedComponent) -> bool:
    return desired.copies is None or observed.desired_copies == desired.copies


def component_ready(desired: DesiredComponent, observed: ObservedComponent | None) -> bool:
    """InService on the desired specification with every desired copy running."""
    return (
        observed is not None
        and observed.status == "InService"
        and spec_matches(desired, observed)
        and copies_match(desired, observed)
        and (desired.copies is None or observed.current_copies == desired.copies)
    )
