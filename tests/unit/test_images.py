"""TGI image URIs by region and version, from the package's data table."""

from __future__ import annotations

import pytest

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
    with pytest.raises(images.ImageLookupError, match=r"unknown TGI version '9\.9'.*3\.3\.6"):
        images.tgi_image_uri("us-east-1", "9.9")
