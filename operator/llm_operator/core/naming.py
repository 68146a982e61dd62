"""SageMaker names for one LLMEndpoint, derived from its namespace and name.

Every name starts with a readable stem (namespace and name) followed by a short
hash of "namespace/name", so two LLMEndpoints never share a name even when
their stems collide or get shortened. With a cluster identity the hash is of
"cluster/namespace/name", so two clusters sharing an account never derive the
same name; without one, names are those every earlier version derived. Models
and endpoint configs are immutable in SageMaker, so their names also carry a
hash of their content: a change makes a new resource, never an in-place edit.
The shared prefix lets the observer find all of one LLMEndpoint's models and
configs with one List call (NameContains).

Names are unambiguous by construction: a derived name decodes into exactly one
(owner hash, role), so two distinct (namespace, name, role) triples can share a
name only if their owner hashes collide. The stem is a slug (no "--", no dash at
either end) and the owner hash is fixed-length hex, so:
- endpoint: `<stem>-<owner>`; model `<prefix>-m<hash>`, config `<prefix>-c<hash>`
  (fixed-length suffixes), base component `<prefix>-base`;
- adapter component: `<stem>-<owner>--<adapter>`. Adapter names have no "--"
  (`api.ADAPTER_NAME_PATTERN`), so the only "--" separates owner and adapter,
  and no adapter name can end like another LLMEndpoint's base or prefix;
- on a pool's endpoint, base component `<prefix>-pool` and adapter component
  `<stem>-<owner>-pool--<adapter>`: what precedes "--" ends in "pool", never in
  hex as a standalone adapter's does, so a standalone LLMEndpoint moving onto a
  pool runs both sets of adapters side by side under names that never meet.

Budget (63 characters, SageMaker's limit): metadata.name is at most
`api.MAX_NAME_LENGTH` (36) characters, the prefix is stem + "-" + 8 hex (at most
45); an adapter component's stem gives up what "--" + the adapter (at most
`api.MAX_ADAPTER_NAME_LENGTH`, 17), and on a pool "-pool" too, needs beyond that.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from llm_operator.api.models import MAX_ADAPTER_NAME_LENGTH, MAX_NAME_LENGTH
from llm_operator.core.kinds import Kind

MAX_SAGEMAKER_NAME = 63
OWNER_HASH_LENGTH = 8
CONTENT_HASH_LENGTH = 8
VARIANT_NAME = "AllTraffic"
BASE_COMPONENT_SUFFIX = "base"
# The base component on a pool's endpoint: a name of its own, so a standalone
# LLMEndpoint moved onto a pool serves from both until the new one is InService.
POOLED_BASE_SUFFIX = "pool"
ADAPTER_SEPARATOR = "--"

# SageMaker's patterns for the names we generate (from botocore's model).
ENDPOINT_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MODEL_NAME_RE = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")

# A cluster identity: a DNS label (no "/", so the owner hash's key stays unambiguous).
CLUSTER_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")

_OWNER_AT_END = re.compile(rf"^[a-z0-9-]*[a-z0-9]-([0-9a-f]{{{OWNER_HASH_LENGTH}}})$")


def _slug(text: str) -> str:
    """Lowercase letters, digits and single dashes, no dash at either end."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")


def short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def content_hash(content: Mapping[str, Any]) -> str:
    """Short hash of a JSON-able mapping; key order does not matter."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return short_hash(canonical, CONTENT_HASH_LENGTH)


def stem(namespace: str, name: str) -> str:
    """Readable start of every name: the name, led by as much namespace as fits."""
    base = _slug(name)[:MAX_NAME_LENGTH].strip("-") or "llme"
    room = MAX_NAME_LENGTH - len(base) - 1
    ns = _slug(namespace)[: max(room, 0)].strip("-")
    return f"{ns}-{base}" if ns else base


def owner_hash(namespace: str, name: str, cluster: str = "") -> str:
    """Identifies the LLMEndpoint: "/" appears in no part, so the join is unambiguous.

    Without a cluster identity the key is "namespace/name" (the names every version
    so far derived); with one it is "cluster/namespace/name", which has one more "/"
    and so never equals any cluster-less key.
    """
    if cluster and not CLUSTER_RE.fullmatch(cluster):
        raise ValueError(f"cluster identity {cluster!r} must be a DNS label")
    key = f"{cluster}/{namespace}/{name}" if cluster else f"{namespace}/{name}"
    return short_hash(key, OWNER_HASH_LENGTH)


def prefix(namespace: str, name: str, cluster: str = "") -> str:
    """The endpoint name, and the start of its models', configs' and base component's."""
    return f"{stem(namespace, name)}-{owner_hash(namespace, name, cluster)}"


def endpoint_name(namespace: str, name: str, cluster: str = "") -> str:
    return prefix(namespace, name, cluster)


def immutable_name(owner_prefix: str, kind: Kind, content: str) -> str:
    """`<prefix>-m<content>` for a model, `<prefix>-c<content>` for an endpoint config."""
    return f"{owner_prefix}-{_immutable_letter(kind)}{content}"


def immutable_prefix(kind: Kind, name: str) -> str | None:
    """The owner prefix of a model or endpoint config name, None when `name` is not
    shaped like one."""
    letter = _immutable_letter(kind)
    match = re.fullmatch(rf"(.+)-{letter}[0-9a-f]{{{CONTENT_HASH_LENGTH}}}", name)
    return match.group(1) if match else None


def _immutable_letter(kind: Kind) -> str:
    letters = {Kind.MODEL: "m", Kind.ENDPOINT_CONFIG: "c"}
    if kind not in letters:
        raise ValueError(f"{kind} names carry no content hash")
    return letters[kind]


def model_name(namespace: str, name: str, content: Mapping[str, Any], cluster: str = "") -> str:
    return immutable_name(prefix(namespace, name, cluster), Kind.MODEL, content_hash(content))


def endpoint_config_name(
    namespace: str, name: str, content: Mapping[str, Any], cluster: str = ""
) -> str:
    owner_prefix = prefix(namespace, name, cluster)
    return immutable_name(owner_prefix, Kind.ENDPOINT_CONFIG, content_hash(content))


def base_component_name(namespace: str, name: str, cluster: str = "") -> str:
    return f"{prefix(namespace, name, cluster)}-{BASE_COMPONENT_SUFFIX}"


def pooled_base_component_name(namespace: str, name: str, cluster: str = "") -> str:
    return f"{prefix(namespace, name, cluster)}-{POOLED_BASE_SUFFIX}"


def adapter_component_name(
    namespace: str, name: str, adapter: str, cluster: str = "", *, pooled: bool = False
) -> str:
    """`pooled`: the adapter on a pool's endpoint, on the base named `<prefix>-pool`."""
    if len(adapter) > MAX_ADAPTER_NAME_LENGTH or _slug(adapter) != adapter:
        raise ValueError(
            f"adapter name {adapter!r} must be lowercase letters and digits, single dashes "
            f"between them, at most {MAX_ADAPTER_NAME_LENGTH} characters"
        )
    if adapter == BASE_COMPONENT_SUFFIX:
        raise ValueError("adapter name 'base' is reserved")
    owner = owner_hash(namespace, name, cluster)
    if pooled:
        owner = f"{owner}-{POOLED_BASE_SUFFIX}"
    room = MAX_SAGEMAKER_NAME - len(f"-{owner}{ADAPTER_SEPARATOR}{adapter}")
    return f"{stem(namespace, name)[:room].rstrip('-')}-{owner}{ADAPTER_SEPARATOR}{adapter}"


def decode(kind: Kind, name: str) -> tuple[str, str] | None:
    """(owner hash, role) of a derived name of `kind`, or None when `name` is not
    shaped like one.

    Roles: "" (endpoint), "m<hash>", "c<hash>", "base", "pool", "--<adapter>",
    "pool--<adapter>" (an adapter on a pool's endpoint). This inverse
    is what makes the scheme unambiguous; tests use it to prove that distinct
    owners and roles never meet in one name.
    """
    head, role = name, ""
    if kind in (Kind.MODEL, Kind.ENDPOINT_CONFIG):
        owner_prefix = immutable_prefix(kind, name)
        if owner_prefix is None:
            return None
        head, role = owner_prefix, name[len(owner_prefix) + 1 :]
    elif kind is Kind.INFERENCE_COMPONENT:
        head, sep, adapter = name.partition(ADAPTER_SEPARATOR)
        if sep:
            if not adapter or ADAPTER_SEPARATOR in adapter:
                return None
            role = sep + adapter
            if head.endswith(f"-{POOLED_BASE_SUFFIX}"):
                head = head[: -len(POOLED_BASE_SUFFIX) - 1]
                role = POOLED_BASE_SUFFIX + role
        elif name.endswith(f"-{BASE_COMPONENT_SUFFIX}"):
            head, role = name[: -len(BASE_COMPONENT_SUFFIX) - 1], BASE_COMPONENT_SUFFIX
        elif name.endswith(f"-{POOLED_BASE_SUFFIX}"):
            head, role = name[: -len(POOLED_BASE_SUFFIX) - 1], POOLED_BASE_SUFFIX
        else:
            return None
    elif kind is not Kind.ENDPOINT:
        raise ValueError(f"unknown kind {kind!r}")
    match = _OWNER_AT_END.search(head)
    return (match.group(1), role) if match else None


def variant_name() -> str:
    return VARIANT_NAME


def invocation_url(region: str, endpoint: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://runtime.sagemaker.{region}.{suffix}/endpoints/{endpoint}/invocations"


# Application Auto Scaling and CloudWatch names (spec.autoscaling). Policies carry
# no tags, so their names are derived from the owner's endpoint name: a policy of
# this name on a scalable target whose tags name this LLMEndpoint is ours.
TARGET_TRACKING_SUFFIX = "target-tracking"
FROM_ZERO_SUFFIX = "from-zero"
NO_CAPACITY_SUFFIX = "no-capacity"


def target_tracking_policy_name(endpoint: str) -> str:
    return f"{endpoint}-{TARGET_TRACKING_SUFFIX}"


def from_zero_policy_name(endpoint: str) -> str:
    """The step-scaling policy that brings a component back from zero copies."""
    return f"{endpoint}-{FROM_ZERO_SUFFIX}"


def no_capacity_alarm_name(endpoint: str) -> str:
    """The alarm on NoCapacityInvocationFailures that fires the from-zero policy."""
    return f"{endpoint}-{NO_CAPACITY_SUFFIX}"


def component_resource_id(component: str) -> str:
    """Application Auto Scaling's ResourceId of an inference component."""
    return f"inference-component/{component}"


def variant_resource_id(endpoint: str, variant: str) -> str:
    """Application Auto Scaling's ResourceId of a production variant."""
    return f"endpoint/{endpoint}/variant/{variant}"
