"""The model and the endpoint config: named by their content, so only ever created
(when missing) or, once unused, deleted (`garbage`)."""

from __future__ import annotations

from collections.abc import Mapping

from llm_operator.core import naming
from llm_operator.core.actions import CreateEndpointConfig, CreateModel, Effect
from llm_operator.core.desired import DesiredState
from llm_operator.core.kinds import Kind
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import PlanEvent


def _model_blocked(p: Pass) -> bool:
    name = p.desired.model.name
    seen = p.observed.models.get(name)
    if seen is not None and p.foreign(seen.owner_uid):
        p.conflict("model", name, seen)
        return True
    return False


def _config_blocked(p: Pass) -> bool:
    name = p.desired.endpoint_config.name
    seen = p.observed.endpoint_configs.get(name)
    if seen is not None and p.foreign(seen.owner_uid):
        p.conflict("endpoint config", name, seen)
        return True
    return False


def ensure_model(p: Pass) -> bool:
    """Create the desired model if missing; False when it cannot be used."""
    if _model_blocked(p):
        return False
    model = p.desired.model
    if model.name not in p.observed.models and not any(
        a.kind is Kind.MODEL and a.effect is Effect.CREATE for a in p.actions
    ):
        p.actions.append(
            CreateModel(name=model.name, spec=model.create_request, tags=p.desired.tags)
        )
    return True


def ensure_config(p: Pass, *, creating_endpoint: bool) -> bool:
    """Create the desired endpoint config (and the model it needs) if missing."""
    # A Model variant references the model, so the endpoint needs it to start;
    # a new inference-component endpoint needs it for its base component next.
    needs_model = p.desired.endpoint_type != "InferenceComponent" or creating_endpoint
    if (needs_model and not ensure_model(p)) or _config_blocked(p):
        return False
    config = p.desired.endpoint_config
    if config.name not in p.observed.endpoint_configs:
        p.actions.append(
            CreateEndpointConfig(name=config.name, spec=config.create_request, tags=p.desired.tags)
        )
    return True


def restore_missing(p: Pass) -> None:
    """Re-create a model or config of ours that vanished while our endpoint uses it.

    SageMaker keeps serving without them, but cannot scale, heal or update.
    """
    ep = p.observed.endpoint
    if ep is None or ep.status != "InService":
        return
    config = p.desired.endpoint_config.name
    model = p.desired.model.name
    if p.desired.endpoint_type != "InferenceComponent":
        uses_model = ep.config_name == config
    else:
        uses_model = any(
            c.model_name == model and not p.foreign(c.owner_uid)
            for c in p.observed.components.values()
        )
    if uses_model and model not in p.observed.models:
        p.events.append(
            PlanEvent(
                "Warning",
                "ResourceMissing",
                f"SageMaker model {model} is in use but no longer exists; creating it again",
            )
        )
        ensure_model(p)
    if ep.config_name == config and config not in p.observed.endpoint_configs:
        p.events.append(
            PlanEvent(
                "Warning",
                "ResourceMissing",
                f"SageMaker endpoint config {config} is in use but no longer exists; "
                "creating it again",
            )
        )
        ensure_config(p, creating_endpoint=False)


def variant_name(desired: DesiredState) -> str:
    """The endpoint config's (single) production variant."""
    variants = desired.endpoint_config.create_request.get("ProductionVariants")
    if isinstance(variants, list | tuple) and variants and isinstance(variants[0], Mapping):
        name = variants[0].get("VariantName")
        if isinstance(name, str):
            return name
    return naming.VARIANT_NAME
