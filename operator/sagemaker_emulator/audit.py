"""The call log: who called what, and whose resource a write call aimed at.

Each API call (InvokeEndpoint included) is recorded with the caller's
User-Agent (botocore appends a client's `user_agent_extra` to it), so calls of
one client can be picked out; a write call that names a resource also records
that resource's tags as they were when the call arrived (None when it did not
exist), so an audit can tell whose resource a client touched. The emulator
knows no particular tag key: it records all of them.
"""

from __future__ import annotations

from typing import Any

from .caller import Caller
from .state import ARN_KIND, ARN_MEMBER, TABLES, Store, arn

# Write operations that name their resource by a Name member: (table, member).
_NAMED: dict[str, tuple[str, str]] = {
    "CreateModel": ("models", "ModelName"),
    "DeleteModel": ("models", "ModelName"),
    "CreateEndpointConfig": ("endpoint_configs", "EndpointConfigName"),
    "DeleteEndpointConfig": ("endpoint_configs", "EndpointConfigName"),
    "CreateEndpoint": ("endpoints", "EndpointName"),
    "UpdateEndpoint": ("endpoints", "EndpointName"),
    "UpdateEndpointWeightsAndCapacities": ("endpoints", "EndpointName"),
    "DeleteEndpoint": ("endpoints", "EndpointName"),
    "CreateInferenceComponent": ("inference_components", "InferenceComponentName"),
    "UpdateInferenceComponent": ("inference_components", "InferenceComponentName"),
    "UpdateInferenceComponentRuntimeConfig": (
        "inference_components",
        "InferenceComponentName",
    ),
    "DeleteInferenceComponent": ("inference_components", "InferenceComponentName"),
    "CreateModelPackageGroup": ("model_package_groups", "ModelPackageGroupName"),
    "DeleteModelPackageGroup": ("model_package_groups", "ModelPackageGroupName"),
    # A versioned package is named by its group: its ARN is not known before it exists.
    "CreateModelPackage": ("model_packages", "ModelPackageName"),
    "DeleteModelPackage": ("model_packages", "ModelPackageName"),
}
# Write operations that name their resource by ARN.
_BY_ARN = {
    "AddTags": "ResourceArn",
    "DeleteTags": "ResourceArn",
    "UpdateModelPackage": "ModelPackageArn",
}


def is_write(operation: str) -> bool:
    return operation in _NAMED or operation in _BY_ARN


def target(
    store: Store, caller: Caller, operation: str, params: Any
) -> tuple[str | None, dict[str, str] | None]:
    """(ARN, tags now) of the resource a write call names; tags None if it does not exist.

    Call with the store's lock held, before the call changes anything.
    """
    if not isinstance(params, dict):
        return None, None
    region = store.regions.get((caller.account, caller.region))
    if operation in _NAMED:
        kind, member = _NAMED[operation]
        name = params.get(member)
        if not isinstance(name, str):
            return None, None
        if name.startswith("arn:"):  # the registry's members take a name or an ARN
            resource_arn = name
            exists = region is not None and _arn_exists(store, caller, name)
        else:
            resource_arn = arn(caller, kind, name)
            exists = region is not None and name in region.table(kind)
    elif operation in _BY_ARN:
        given = params.get(_BY_ARN[operation])
        if not isinstance(given, str):
            return None, None
        resource_arn = given
        exists = region is not None and _arn_exists(store, caller, resource_arn)
    else:
        return None, None
    if not exists or region is None:
        return resource_arn, None
    return resource_arn, dict(region.tags.get(resource_arn.lower(), {}))


def _arn_exists(store: Store, caller: Caller, resource_arn: str) -> bool:
    wanted = resource_arn.lower()
    prefix = f"arn:aws:sagemaker:{caller.region}:{caller.account}:"
    if not wanted.startswith(prefix):
        return False
    kind_name = wanted[len(prefix) :].partition("/")[0]
    region = store.regions.get((caller.account, caller.region))
    if region is None:
        return False
    for kind in TABLES:
        if ARN_KIND[kind] == kind_name:
            return any(r[ARN_MEMBER[kind]] == wanted for r in region.table(kind).values())
    return False
