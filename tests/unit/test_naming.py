"""SageMaker names: valid, at most 63 characters, readable, collision-free."""

from __future__ import annotations

import itertools

import pytest

from llm_operator.api.models import MAX_ADAPTER_NAME_LENGTH, MAX_NAME_LENGTH
from llm_operator.core import naming
from llm_operator.core.kinds import Kind

LONGEST_NAMESPACE = "n" * 63
LONGEST_NAME = "m" * MAX_NAME_LENGTH
LONGEST_ADAPTER = "a" * MAX_ADAPTER_NAME_LENGTH


def all_names(namespace: str, name: str, adapter: str = "support-bot") -> list[str]:
    content = {"Image": "x", "Environment": {"A": "1"}}
    return [
        naming.endpoint_name(namespace, name),
        naming.model_name(namespace, name, content),
        naming.endpoint_config_name(namespace, name, content),
        naming.base_component_name(namespace, name),
        naming.adapter_component_name(namespace, name, adapter),
    ]


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("default", "mistral-7b"),
        (LONGEST_NAMESPACE, LONGEST_NAME),
        (LONGEST_NAMESPACE, "x"),
        ("team.a", "llama.3.8b"),
        ("a", "b--c"),
        ("kube-system", "m" * 35),
    ],
)
def test_names_fit_sagemaker_patterns_and_length(namespace: str, name: str) -> None:
    for n in all_names(namespace, name, LONGEST_ADAPTER):
        assert len(n) <= naming.MAX_SAGEMAKER_NAME, n
        assert naming.ENDPOINT_NAME_RE.match(n), n
        assert naming.MODEL_NAME_RE.match(n), n


def test_names_are_readable_and_share_the_prefix() -> None:
    prefix = naming.prefix("default", "mistral-7b")
    assert prefix.startswith("default-mistral-7b-")
    for n in all_names("default", "mistral-7b"):
        assert n.startswith(prefix)
    assert naming.base_component_name("default", "mistral-7b") == f"{prefix}-base"
    assert naming.adapter_component_name("default", "mistral-7b", "support-bot") == (
        f"{prefix}--support-bot"
    )


def test_the_name_is_never_cut_the_namespace_gives_way() -> None:
    assert naming.stem(LONGEST_NAMESPACE, LONGEST_NAME) == LONGEST_NAME
    assert naming.stem("production", "m" * 30) == "produ-" + "m" * 30
    assert naming.stem("default", "llama.3") == "default-llama-3"


def test_names_are_deterministic() -> None:
    assert all_names("default", "mistral-7b") == all_names("default", "mistral-7b")


def test_no_collisions_across_namespaces_even_with_equal_stems() -> None:
    owners = [("a-b", "c"), ("a", "b-c"), ("a.b", "c"), ("default", "x"), ("other", "x")]
    owners += [(LONGEST_NAMESPACE, LONGEST_NAME), (LONGEST_NAMESPACE + "x", LONGEST_NAME)]
    assert naming.stem("a-b", "c") == naming.stem("a", "b-c")
    for (ns1, n1), (ns2, n2) in itertools.combinations(owners, 2):
        assert set(all_names(ns1, n1)).isdisjoint(all_names(ns2, n2)), (ns1, n1, ns2, n2)


def test_prefix_of_one_endpoint_is_not_found_in_anothers_names() -> None:
    a = naming.prefix("default", "m")
    for n in all_names("default", "m-2") + all_names("default2", "m"):
        assert a not in n


def test_content_hash_changes_exactly_with_content() -> None:
    a = naming.model_name("ns", "n", {"Image": "i", "Environment": {"A": "1", "B": "2"}})
    same = naming.model_name("ns", "n", {"Environment": {"B": "2", "A": "1"}, "Image": "i"})
    other = naming.model_name("ns", "n", {"Image": "i", "Environment": {"A": "1", "B": "3"}})
    assert a == same
    assert a != other
    config = naming.endpoint_config_name("ns", "n", {"Image": "i", "Environment": {"A": "1"}})
    assert config != naming.model_name("ns", "n", {"Image": "i", "Environment": {"A": "1"}})


@pytest.mark.parametrize("adapter", ["base", "Upper", "a" * (MAX_ADAPTER_NAME_LENGTH + 1), "-x"])
def test_adapter_names_that_could_clash_or_overflow_are_refused(adapter: str) -> None:
    with pytest.raises(ValueError, match="adapter name"):
        naming.adapter_component_name("default", "m", adapter)


def test_variant_and_invocation_url() -> None:
    assert naming.variant_name() == "AllTraffic"
    assert naming.invocation_url("us-east-1", "ep") == (
        "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/invocations"
    )
    assert naming.invocation_url("cn-north-1", "ep").startswith(
        "https://runtime.sagemaker.cn-north-1.amazonaws.com.cn/"
    )


def test_immutable_names_give_back_their_owner_prefix() -> None:
    owner = naming.prefix("team", "chat")
    model = naming.model_name("team", "chat", {"image": "x"})
    config = naming.endpoint_config_name("team", "chat", {"instances": 1})
    assert model == naming.immutable_name(owner, Kind.MODEL, model[-naming.CONTENT_HASH_LENGTH :])
    assert naming.immutable_prefix(Kind.MODEL, model) == owner
    assert naming.immutable_prefix(Kind.ENDPOINT_CONFIG, config) == owner
    assert naming.immutable_prefix(Kind.ENDPOINT_CONFIG, model) is None
    assert naming.immutable_prefix(Kind.MODEL, naming.base_component_name("team", "chat")) is None
    # The deletion fallback's placeholder (no content hash) is never a real model's name.
    assert naming.immutable_prefix(Kind.MODEL, naming.immutable_name(owner, Kind.MODEL, "")) is None
    with pytest.raises(ValueError, match="carry no content hash"):
        naming.immutable_name(owner, Kind.ENDPOINT, "")


def test_without_a_cluster_identity_names_are_those_of_earlier_versions() -> None:
    """Resources created before cluster identities existed keep their names."""
    content = {"Image": "x", "Environment": {"A": "1"}}
    assert naming.endpoint_name("default", "mistral-7b") == "default-mistral-7b-60969f5d"
    assert naming.endpoint_name("default", "mistral-7b", "") == "default-mistral-7b-60969f5d"
    assert naming.model_name("team", "chat", content, "") == naming.model_name(
        "team", "chat", content
    )


def test_a_cluster_identity_changes_the_owner_hash_only() -> None:
    east = naming.endpoint_name("default", "mistral-7b", "east")
    west = naming.endpoint_name("default", "mistral-7b", "west")
    assert east.startswith("default-mistral-7b-") and west.startswith("default-mistral-7b-")
    assert len({east, west, naming.endpoint_name("default", "mistral-7b")}) == 3
    assert naming.decode(Kind.ENDPOINT, east) == (
        naming.owner_hash("default", "mistral-7b", "east"),
        "",
    )


def test_a_cluster_identity_must_be_a_dns_label() -> None:
    with pytest.raises(ValueError, match="DNS label"):
        naming.owner_hash("ns", "name", "a/b")
