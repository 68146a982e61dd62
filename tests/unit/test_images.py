"""Engine image URIs by region, accelerator kind and version, from the package's data table."""

from __future__ import annotations

import pytest

from llm_operator.api.engines import DEFAULT_ENGINE, ENGINES, NEURON_ENGINES, Engine
from llm_operator.api.regions import sagemaker_regions
from llm_operator.core import images

REPO = "huggingface-pytorch-tgi-inference"


def test_newest_version_by_default() -> None:
    assert images.tgi_image_uri("us-east-1") == (
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{REPO}:"
        "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    )
    assert images.resolve_version(None) == images.versions()[-1]
    assert images.resolve_version("") == images.versions()[-1]


def test_known_versions_and_aliases() -> None:
    assert images.tgi_image_uri("eu-west-1", "2.4.0").endswith(
        f"/{REPO}:2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
    )
    assert images.resolve_version("3.3") == "3.3.6"
    assert images.tgi_image_uri("us-west-2", "3.0") == images.tgi_image_uri("us-west-2", "3.0.1")


def test_versions_are_sorted_numerically() -> None:
    versions = images.versions()
    assert versions == sorted(versions, key=lambda v: [int(p) for p in v.split(".")])
    assert "3.3.6" in versions and "2.4.0" in versions


@pytest.mark.parametrize(
    ("region", "account"),
    [
        ("af-south-1", "626614931356"),
        ("ap-east-1", "871362719292"),
        ("eu-south-2", "503227376785"),
        ("il-central-1", "780543022126"),
        ("mx-central-1", "637423239942"),
        ("us-gov-west-1", "442386744353"),
        ("ap-northeast-1", "763104351884"),
    ],
)
def test_region_accounts(region: str, account: str) -> None:
    uri = images.tgi_image_uri(region)
    assert uri.startswith(f"{account}.dkr.ecr.{region}.amazonaws.com/{REPO}:")


def test_china_uses_its_own_partition_domain() -> None:
    uri = images.tgi_image_uri("cn-northwest-1")
    assert uri.startswith(f"727897471807.dkr.ecr.cn-northwest-1.amazonaws.com.cn/{REPO}:")


def test_unknown_region_is_a_clear_error() -> None:
    with pytest.raises(images.ImageLookupError, match=r"region 'xx-south-9'.*spec\.model\.image"):
        images.tgi_image_uri("xx-south-9")


def test_unknown_version_lists_the_known_ones() -> None:
    with pytest.raises(
        images.ImageLookupError, match=r"unknown tgi gpu image version '9\.9'.*3\.3\.6"
    ):
        images.tgi_image_uri("us-east-1", "9.9")


def test_every_family_names_its_source_and_has_a_consistent_shape() -> None:
    for engine in ENGINES:
        for kind in ("gpu", "neuron"):
            found = images.family(engine, kind)
            if isinstance(found, images.Unavailable):
                assert found.reason  # said, not silently missing
                continue
            assert found.source.startswith("SageMaker Python SDK image_uri_config/")
            assert found.default in found.versions
            assert set(found.aliases.values()) <= set(found.versions)
            assert all(len(a) == 12 and a.isdigit() for a in found.registries.values())
            assert set(found.missing_regions) == set(found.versions)


def test_every_accepted_region_has_an_image_for_the_default_engine() -> None:
    for region in sagemaker_regions():
        uri = images.image_uri(DEFAULT_ENGINE, region)
        assert "/vllm:" in uri and uri.endswith("-sagemaker")


@pytest.mark.parametrize(
    ("engine", "kind", "expected"),
    [
        ("vllm", "gpu", "/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"),
        ("sglang", "gpu", "/sglang:0.5.20-gpu-py312-cu130-ubuntu24.04-sagemaker"),
        ("lmi", "gpu", "/djl-inference:0.38.0-lmi29.0.0-cu130"),
        ("lmi", "neuron", "/djl-inference:0.29.0-neuronx-sdk2.19.1"),
        ("tgi", "gpu", f"/{REPO}:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"),
        ("tgi", "neuron", f"/{REPO}:2.7.0-optimum3.3.6-neuronx-py310-ubuntu22.04"),
    ],
)
def test_newest_image_per_engine_and_kind(engine: Engine, kind: images.Kind, expected: str) -> None:
    assert images.image_uri(engine, "us-east-1", kind=kind).endswith(expected)


def test_engines_without_a_neuron_image_are_refused_with_a_reason() -> None:
    for engine in ("vllm", "sglang"):
        with pytest.raises(images.ImageLookupError, match=r"spec\.model\.image"):
            images.image_uri(engine, "us-east-1", kind="neuron")  # type: ignore[arg-type]


def test_the_api_knows_which_engines_have_a_neuron_image() -> None:
    """The CRD refuses the others on ml.inf2 (api.engines.NEURON_ENGINES, no core import)."""
    having = {e for e in ENGINES if not isinstance(images.family(e, "neuron"), images.Unavailable)}
    assert having == set(NEURON_ENGINES)


def test_unset_version_picks_the_newest_published_in_the_region() -> None:
    assert ":0.28.0-" in images.image_uri("vllm", "cn-north-1")
    with pytest.raises(images.ImageLookupError, match="not published in region 'cn-north-1'"):
        images.image_uri("vllm", "cn-north-1", "0.30")


def test_versions_the_operator_shipped_before_keep_their_tags() -> None:
    """Upgrading the operator must not change the image of an endpoint pinned to them."""
    assert images.tgi_image_uri("us-east-1", "2.4.0").endswith(
        ":2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
    )
    assert images.tgi_image_uri("us-east-1", "3.0").endswith(
        ":2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
    )
