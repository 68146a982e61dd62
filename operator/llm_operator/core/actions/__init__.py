"""The calls the planner can ask for: one class per AWS API call, in one module per
resource family.

Each class is the one home of its call: the operation name, the kind of resource
it acts on, whether it creates, changes or deletes it, the ownership guard the
shell runs right before it (and how that guard finds the resource whose tags it
reads), what the observer's caches are told once it succeeded, whether it starts
a rollout, the resource's name, the exact request, what AWS holds once it
finished (`settle`, for `plan`), what `plan` shows it against (`baseline`) and
the fingerprint the planner remembers a rejection by. Consumers read these
declarations and never ask which action they hold, so adding a call means
adding a class to its family's module (docs/design.md, The action registry);
`registry.ACTIONS` lists every one.

Modules: `base` (`Action`, `Creation` and what they declare: `Effect`, `Guard`,
`Lookup`, `Notice`, `Baseline`), `sagemaker` (models, endpoint configs,
endpoints), `components` (inference components), `alarms` (CloudWatch alarms),
`scaling` (scalable targets, scaling policies), `tagging` (tagging and untagging
by ARN) and `registry` (`ACTIONS`, every concrete class).
"""

from llm_operator.core.actions.alarms import CreateAlarm, DeleteAlarm, UpdateAlarm
from llm_operator.core.actions.base import (
    Action,
    Baseline,
    Creation,
    Effect,
    Guard,
    Lookup,
    Notice,
    Pick,
    Read,
    digest,
    tag_list,
)
from llm_operator.core.actions.components import (
    CreateInferenceComponent,
    DeleteInferenceComponent,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.actions.registry import ACTIONS
from llm_operator.core.actions.sagemaker import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteModel,
    UpdateEndpoint,
    UpdateEndpointWeightsAndCapacities,
)
from llm_operator.core.actions.scaling import (
    SERVICE_NAMESPACE,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
)
from llm_operator.core.actions.tagging import (
    TAGGING,
    AddTags,
    DropEndpointConfigTags,
    DropEndpointTags,
    DropInferenceComponentTags,
    DropModelTags,
    DropTags,
    RemoveTags,
    TagAlarm,
    TagEndpoint,
    TagEndpointConfig,
    TagInferenceComponent,
    TagModel,
    TagScalableTarget,
    UntagEndpoint,
    UntagEndpointConfig,
    UntagInferenceComponent,
    UntagModel,
)

__all__ = [
    "ACTIONS",
    "SERVICE_NAMESPACE",
    "TAGGING",
    "Action",
    "AddTags",
    "Baseline",
    "CreateAlarm",
    "CreateEndpoint",
    "CreateEndpointConfig",
    "CreateInferenceComponent",
    "CreateModel",
    "Creation",
    "DeleteAlarm",
    "DeleteEndpoint",
    "DeleteEndpointConfig",
    "DeleteInferenceComponent",
    "DeleteModel",
    "DeleteScalingPolicy",
    "DeregisterScalableTarget",
    "DropEndpointConfigTags",
    "DropEndpointTags",
    "DropInferenceComponentTags",
    "DropModelTags",
    "DropTags",
    "Effect",
    "Guard",
    "Lookup",
    "Notice",
    "Pick",
    "PutScalingPolicy",
    "Read",
    "RegisterScalableTarget",
    "RemoveTags",
    "TagAlarm",
    "TagEndpoint",
    "TagEndpointConfig",
    "TagInferenceComponent",
    "TagModel",
    "TagScalableTarget",
    "UntagEndpoint",
    "UntagEndpointConfig",
    "UntagInferenceComponent",
    "UntagModel",
    "UpdateAlarm",
    "UpdateEndpoint",
    "UpdateEndpointWeightsAndCapacities",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
    "digest",
    "tag_list",
]
