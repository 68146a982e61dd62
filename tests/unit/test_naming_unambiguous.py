"""Derived names are unambiguous by construction, even for names crafted to collide.

Every derived name decodes back into exactly one (owner hash, role), and the
owner hash is a hash of "namespace/name", or "cluster/namespace/name" with a
cluster identity ("/" is in no part). So two distinct (cluster, namespace,
name, role) tuples meet in one name only if their owner hashes collide, never
through the way the parts are joined. Inputs are adversarial:
names carrying other owners' hashes, adapter names that look like hashes or
end in "-base", and every length up to the limits.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_operator.api.models import MAX_ADAPTER_NAME_LENGTH, MAX_NAME_LENGTH
from llm_operator.core import naming
from llm_operator.core.kinds import Kind

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
HEX = st.from_regex(r"[0-9a-f]{8}", fullmatch=True)
ADAPTER = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,1}", fullmatch=True).filter(
    lambda a: a != "base" and len(a) <= MAX_ADAPTER_NAME_LENGTH
)
CLUSTER = st.one_of(st.just(""), LABEL)
CONTENT = st.dictionaries(st.sampled_from("ABC"), st.text("xyz", max_size=3), max_size=2)


Role = tuple[Kind, str]


def roles(
    namespace: str, name: str, adapter: str, content: dict[str, str], cluster: str = ""
) -> dict[Role, str]:
    """(kind, role) -> name (SageMaker names are unique per kind)."""
    digest = naming.content_hash(content)
    ns, c = namespace, cluster
    return {
        (Kind.ENDPOINT, ""): naming.endpoint_name(ns, name, c),
        (Kind.MODEL, f"m{digest}"): naming.model_name(ns, name, content, c),
        (Kind.ENDPOINT_CONFIG, f"c{digest}"): naming.endpoint_config_name(ns, name, content, c),
        (Kind.INFERENCE_COMPONENT, "base"): naming.base_component_name(ns, name, c),
        (Kind.INFERENCE_COMPONENT, f"--{adapter}"): naming.adapter_component_name(
            ns, name, adapter, c
        ),
        (Kind.INFERENCE_COMPONENT, "pool"): naming.pooled_base_component_name(ns, name, c),
        (Kind.INFERENCE_COMPONENT, f"pool--{adapter}"): naming.adapter_component_name(
            ns, name, adapter, c, pooled=True
        ),
    }


@st.composite
def crafted_pair(draw: st.DrawFn) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """Two LLMEndpoints shaped like the reported collision: one's name carries the
    other's owner hash, the other's adapter carries the first one's hash."""
    ns = draw(LABEL)
    other_ns = f"{ns}-{draw(LABEL)}"
    other_name = draw(LABEL)
    name = f"{draw(LABEL)}-{naming.owner_hash(other_ns, other_name)}"[:MAX_NAME_LENGTH]
    adapter = f"{naming.owner_hash(ns, name)}-base"[:MAX_ADAPTER_NAME_LENGTH]
    pooled = f"{naming.owner_hash(ns, name)}-pool"[:MAX_ADAPTER_NAME_LENGTH]
    suffix = draw(
        st.sampled_from([adapter, pooled, "pool", naming.owner_hash(ns, name), draw(ADAPTER)])
    )
    return (ns, name, draw(ADAPTER)), (other_ns, other_name, suffix)


def _decodes(kind_role: Role, name: str, namespace: str, owner: str, cluster: str = "") -> None:
    kind, role = kind_role
    assert len(name) <= naming.MAX_SAGEMAKER_NAME, name
    assert naming.ENDPOINT_NAME_RE.match(name), name
    expected = (naming.owner_hash(namespace, owner, cluster), role)
    assert naming.decode(kind, name) == expected, name


def _disjoint(a: dict[Role, str], b: dict[Role, str]) -> None:
    for kind in Kind:
        names_a = {n for (k, _), n in a.items() if k is kind}
        names_b = {n for (k, _), n in b.items() if k is kind}
        assert not names_a & names_b, (kind, names_a & names_b)


@settings(max_examples=400, deadline=None)
@given(crafted_pair(), CONTENT, CLUSTER, CLUSTER)
def test_crafted_neighbours_never_share_a_name(
    pair: tuple[tuple[str, str, str], tuple[str, str, str]],
    content: dict[str, str],
    cluster_a: str,
    cluster_b: str,
) -> None:
    (ns_a, name_a, adapter_a), (ns_b, name_b, adapter_b) = pair
    if adapter_b == "base" or len(adapter_b) > MAX_ADAPTER_NAME_LENGTH:
        return
    a = roles(ns_a, name_a, adapter_a, content, cluster_a)
    b = roles(ns_b, name_b, adapter_b, content, cluster_b)
    for kind_role, name in a.items():
        _decodes(kind_role, name, ns_a, name_a, cluster_a)
    for kind_role, name in b.items():
        _decodes(kind_role, name, ns_b, name_b, cluster_b)
    _disjoint(a, b)


@settings(max_examples=300, deadline=None)
@given(LABEL, LABEL, ADAPTER, CONTENT, CLUSTER, CLUSTER)
def test_two_clusters_never_share_a_name_for_the_same_namespace_and_name(
    namespace: str,
    name: str,
    adapter: str,
    content: dict[str, str],
    cluster_a: str,
    cluster_b: str,
) -> None:
    if cluster_a == cluster_b:
        return
    a = roles(namespace, name[:MAX_NAME_LENGTH], adapter, content, cluster_a)
    b = roles(namespace, name[:MAX_NAME_LENGTH], adapter, content, cluster_b)
    for kind_role, derived in b.items():
        _decodes(kind_role, derived, namespace, name[:MAX_NAME_LENGTH], cluster_b)
    _disjoint(a, b)


@settings(max_examples=400, deadline=None)
@given(
    st.text("abc-.0123456789", min_size=1, max_size=63).filter(lambda s: s[0].isalnum()),
    st.text("abc-.0123456789", min_size=1, max_size=MAX_NAME_LENGTH).filter(
        lambda s: s[0].isalnum()
    ),
    ADAPTER,
    CONTENT,
    CLUSTER,
)
def test_every_name_decodes_to_its_owner_and_role(
    namespace: str, name: str, adapter: str, content: dict[str, str], cluster: str
) -> None:
    for kind_role, derived in roles(namespace, name, adapter, content, cluster).items():
        _decodes(kind_role, derived, namespace, name, cluster)


@settings(max_examples=300, deadline=None)
@given(LABEL, LABEL, ADAPTER, CLUSTER)
def test_an_llmendpoints_components_on_and_off_a_pool_never_share_a_name(
    namespace: str, name: str, adapter: str, cluster: str
) -> None:
    """Moving onto a pool, both sets run side by side until the pool's serve."""
    derived = [
        n
        for (kind, _), n in roles(namespace, name[:MAX_NAME_LENGTH], adapter, {}, cluster).items()
        if kind is Kind.INFERENCE_COMPONENT
    ]
    derived.append(
        naming.adapter_component_name(namespace, name[:MAX_NAME_LENGTH], "pool", cluster)
    )
    assert len(set(derived)) == len(derived), derived


def test_the_reported_collision_is_gone() -> None:
    """adv/g-x-<h(adv-g/x)> and adv-g/x with adapter <h(adv/g-x-...)>-base."""
    b_ns, b_name = "adv-g", "x"
    a_ns, a_name = "adv", f"g-x-{naming.owner_hash(b_ns, b_name)}"
    adapter = f"{naming.owner_hash(a_ns, a_name)}-base"
    assert naming.base_component_name(a_ns, a_name) != naming.adapter_component_name(
        b_ns, b_name, adapter
    )
    # Under the old join ("<prefix>-<adapter>") they were the same name.
    assert naming.base_component_name(a_ns, a_name) == f"{naming.prefix(b_ns, b_name)}-{adapter}"


def test_adapter_names_with_a_double_dash_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="single dashes"):
        naming.adapter_component_name("ns", "name", "a--b")
