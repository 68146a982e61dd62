"""Tags on Application Auto Scaling scalable targets, and paging over many targets, in moto.

The operator tags the targets it registers and changes one only when its uid tag
names the LLMEndpoint, so `--with-moto` must keep those tags as AWS does; and it
lists all targets of a namespace, so paging must end. Unmodified boto3 against
the emulator's moto server.
"""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_emulator.server import EmulatorServer
from tests.plugins.emulator_fixtures import boto3_client

COPIES = "sagemaker:inference-component:DesiredCopyCount"


@pytest.fixture
def aas(autoscaling_emulator: EmulatorServer) -> Any:
    return boto3_client(autoscaling_emulator.moto_url, "application-autoscaling")


def register(aas: Any, name: str, **extra: Any) -> str:
    arn: str = aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"inference-component/{name}",
        ScalableDimension=COPIES,
        MinCapacity=0,
        MaxCapacity=2,
        **extra,
    )["ScalableTargetARN"]
    return arn


def test_tags_given_at_registration_are_listed(aas: Any) -> None:
    arn = register(aas, "ic", Tags={"llmoperator.io/uid": "u-1", "team": "ml"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "llmoperator.io/uid": "u-1",
        "team": "ml",
    }
    other = register(aas, "untagged")
    assert aas.list_tags_for_resource(ResourceARN=other)["Tags"] == {}


def test_tag_and_untag_a_target(aas: Any) -> None:
    arn = register(aas, "ic", Tags={"a": "1"})
    aas.tag_resource(ResourceARN=arn, Tags={"b": "2", "a": "3"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"a": "3", "b": "2"}
    aas.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"b": "2"}


def test_deregistering_drops_the_tags(aas: Any) -> None:
    register(aas, "ic", Tags={"a": "1"})
    aas.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId="inference-component/ic", ScalableDimension=COPIES
    )
    again = register(aas, "ic")
    assert aas.list_tags_for_resource(ResourceARN=again)["Tags"] == {}


def test_paging_over_150_targets_ends_with_all_of_them(aas: Any) -> None:
    names = {f"inference-component/ic-{i}" for i in range(150)}
    for resource in names:
        register(aas, resource.split("/")[1])
    pages = list(
        aas.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="sagemaker", PaginationConfig={"PageSize": 40}
        )
    )
    assert len(pages) == 4
    listed = [t["ResourceId"] for page in pages for t in page["ScalableTargets"]]
    assert sorted(listed) == sorted(names)
