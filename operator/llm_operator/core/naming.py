"""SageMaker names for one LLMEndpoint, derived from its namespace and name.

Every name starts with a readable stem (namespace and name) followed by a short
hash of "namespace/name", so two LLMEndpoints never share a name even when
their stems collide or get shortened. Models and endpoint configs are immutable
in SageMaker, so their names also carry a hash of their content: a change makes
a new resource, never an in-place edit. The shared prefix lets the observer
find all of one LLMEndpoint's models and configs with one List call
(NameContains).

Budget (63 characters, SageMaker's limit): metadata.name is at most
`api.MAX_NAME_LENGTH` (36) characters, the prefix is stem + "-" + 8 hex (at most
45), and the longest suffix is "-" + an adapter name of at most
`api.MAX_ADAPTER_NAME_LENGTH` (17).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from llm_operator.api.models import MAX_ADAPTER_NAME_LENGTH, MAX_NAME_LENGTH

MAX_SAGEMAKER_NAME = 63
OWNER_HASH_LENGTH = 8
CONTENT_HASH_LENGTH = 8
VARIANT_NAME = "AllTraffic"
BASE_COMPONENT_SUFFIX = "base"

# SageMaker's patterns for the names we generate (from botocore's model).
ENDPOINT_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MODEL_NAME_RE = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")


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


def prefix(namespace: str, name: str) -> str:
    """Start shared by every SageMaker name of this LLMEndpoint (and the endpoint name)."""
    owner = short_hash(f"{namespace}/{name}", OWNER_HASH_LENGTH)
    return f"{stem(namespace, name)}-{owner}"


def endpoint_name(namespace: str, name: str) -> str:
    return prefix(namespace, name)


def model_name(namespace: str, name: str, content: Mapping[str, Any]) -> str:
    return f"{prefix(namespace, name)}-m{content_hash(content)}"


def endpoint_config_name(namespace: str, name: str, content: Mapping[str, Any]) -> str:
    return f"{prefix(namespace, name)}-c{content_hash(content)}"


def base_component_name(namespace: str, name: str) -> str:
    return f"{prefix(namespace, name)}-{BASE_COMPONENT_SUFFIX}"


def adapter_component_name(namespace: str, name: str, adapter: str) -> str:
    if len(adapter) > MAX_ADAPTER_NAME_LENGTH or _slug(adapter) != adapter:
        raise ValueError(
            f"adapter name {adapter!r} must be lowercase letters, digits and '-', "
            f"at most {MAX_ADAPTER_NAME_LENGTH} characters"
        )
    if adapter == BASE_COMPONENT_SUFFIX:
        raise ValueError("adapter name 'base' is reserved")
    return f"{prefix(namespace, name)}-{adapter}"


def variant_name() -> str:
    return VARIANT_NAME


def invocation_url(region: str, endpoint: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://runtime.sagemaker.{region}.{suffix}/endpoints/{endpoint}/invocations"
