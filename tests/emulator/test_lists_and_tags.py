"""List* filters, sorting and pagination; tags on every resource ARN."""

from __future__ import annotations

from typing import Any

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def test_list_models_pages_through_everything_newest_first(sm: Any) -> None:
    for index in range(7):
        builders.model(sm, f"model-{index}")
    first = sm.list_models(MaxResults=3)
    assert [m["ModelName"] for m in first["Models"]] == ["model-6", "model-5", "model-4"]
    names: list[str] = []
    for page in sm.get_paginator("list_models").paginate(PaginationConfig={"PageSize": 3}):
        names += [m["ModelName"] for m in page["Models"]]
    assert names == [f"model-{i}" for i in reversed(range(7))]
    ascending = sm.list_models(SortBy="Name", SortOrder="Ascending", NameContains="MODEL-1")
    assert [m["ModelName"] for m in ascending["Models"]] == ["model-1"]
    assert "NextToken" not in ascending


def test_default_page_size_and_bad_token(sm: Any) -> None:
    for index in range(12):
        builders.model(sm, f"m{index:02d}")
    page = sm.list_models()
    assert len(page["Models"]) == 10 and "NextToken" in page
    assert len(sm.list_models(NextToken=page["NextToken"])["Models"]) == 2
    code, message = error(sm.list_models, NextToken="garbage")
    assert code == "ValidationException" and "token" in message


def test_list_endpoints_filters_by_status_and_name(sm: Any, emulator_admin: AdminClient) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="alpha-one", EndpointConfigName="cfg")
    emulator_admin.settle()
    emulator_admin.set_delay(3600)
    sm.create_endpoint(EndpointName="beta-two", EndpointConfigName="cfg")
    assert [
        e["EndpointName"] for e in sm.list_endpoints(StatusEquals="InService")["Endpoints"]
    ] == ["alpha-one"]
    assert [e["EndpointName"] for e in sm.list_endpoints(StatusEquals="Creating")["Endpoints"]] == [
        "beta-two"
    ]
    assert [e["EndpointName"] for e in sm.list_endpoints(NameContains="two")["Endpoints"]] == [
        "beta-two"
    ]
    by_name = sm.list_endpoints(SortBy="Name", SortOrder="Ascending")["Endpoints"]
    assert [e["EndpointName"] for e in by_name] == ["alpha-one", "beta-two"]
    listed_configs = sm.list_endpoint_configs(NameContains="cfg")["EndpointConfigs"]
    assert listed_configs[0]["EndpointConfigArn"] == f"{ARN}:endpoint-config/cfg"


def test_list_inference_components_by_endpoint(sm: Any, emulator_admin: AdminClient) -> None:
    builders.model(sm, "llm-model")
    builders.component_config(sm, "cfg", instance="ml.g5.48xlarge")
    for endpoint in ("ep-a", "ep-b"):
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="cfg")
    emulator_admin.settle()
    for name, endpoint in (("ic-1", "ep-a"), ("ic-2", "ep-a"), ("ic-3", "ep-b")):
        builders.component(sm, name, endpoint)
    emulator_admin.settle()
    listed = sm.list_inference_components(
        EndpointNameEquals="ep-a", SortBy="Name", SortOrder="Ascending"
    )
    assert [c["InferenceComponentName"] for c in listed["InferenceComponents"]] == ["ic-1", "ic-2"]
    summary = listed["InferenceComponents"][0]
    assert summary["EndpointArn"] == f"{ARN}:endpoint/ep-a"
    assert summary["InferenceComponentStatus"] == "InService"
    assert sm.list_inference_components(StatusEquals="Failed")["InferenceComponents"] == []
    assert (
        len(
            sm.list_inference_components(VariantNameEquals="AllTraffic", MaxResults=2)[
                "InferenceComponents"
            ]
        )
        == 2
    )


def test_tags_on_every_kind_of_resource(sm: Any, emulator_admin: AdminClient) -> None:
    owner = [{"Key": "llmoperator.io/uid", "Value": "1234"}]
    sm.create_model(
        ModelName="m",
        PrimaryContainer={"Image": builders.IMAGE},
        ExecutionRoleArn=builders.ROLE,
        Tags=owner,
    )
    builders.component_config(sm, "cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg", Tags=owner)
    emulator_admin.settle()
    builders.component(sm, "ic", "ep", model_name="m")
    arns = [
        f"{ARN}:model/m",
        f"{ARN}:endpoint-config/cfg",
        f"{ARN}:endpoint/ep",
        f"{ARN}:inference-component/ic",
    ]
    for arn in arns:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "search"}])
    assert sm.list_tags(ResourceArn=arns[0])["Tags"] == [*owner, {"Key": "team", "Value": "search"}]
    assert sm.list_tags(ResourceArn=arns[1])["Tags"] == [{"Key": "team", "Value": "search"}]
    sm.delete_tags(ResourceArn=arns[2], TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arns[2])["Tags"] == owner
    sm.add_tags(ResourceArn=arns[3], Tags=[{"Key": "team", "Value": "ads"}])
    assert sm.list_tags(ResourceArn=arns[3])["Tags"] == [{"Key": "team", "Value": "ads"}]


def test_tag_errors(sm: Any) -> None:
    builders.model(sm, "m")
    code, _ = error(sm.list_tags, ResourceArn=f"{ARN}:endpoint/ghost")
    assert code == "ValidationException"
    code, _ = error(
        sm.add_tags, ResourceArn="arn:aws:sagemaker:eu-west-1:123456789012:model/m", Tags=[]
    )
    assert code == "ValidationException"  # another region is another namespace
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(30)]
    sm.add_tags(ResourceArn=f"{ARN}:model/m", Tags=too_many)
    code, message = error(
        sm.add_tags,
        ResourceArn=f"{ARN}:model/m",
        Tags=[{"Key": f"x{i}", "Value": "v"} for i in range(30)],
    )
    assert code == "ValidationException" and "50" in message
    assert len(sm.list_tags(ResourceArn=f"{ARN}:model/m")["Tags"]) == 30


def test_tag_keys_and_values_follow_the_service_model(sm: Any) -> None:
    """TagKey / TagValue: 1..128 and 0..256 characters of letters, separators, numbers, _.:/=+-@."""
    model_arn = builders.model(sm, "m")
    pattern = sm.meta.service_model.shape_for("TagValue").metadata["pattern"]
    code, message = error(sm.add_tags, ResourceArn=model_arn, Tags=[{"Key": "team", "Value": "🚀"}])
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value '🚀' at 'tags.1.member.value' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}"
    )
    for tags, where in (
        ([{"Key": "k" * 129, "Value": "v"}], "tags.1.member.key"),
        ([{"Key": "ok", "Value": "v" * 257}], "tags.1.member.value"),
        ([{"Key": "a", "Value": "b"}, {"Key": "smile😀", "Value": "b"}], "tags.2.member.key"),
    ):
        code, message = error(sm.add_tags, ResourceArn=model_arn, Tags=tags)
        assert code == "ValidationException" and f"at '{where}'" in message, message
    # The same checks apply to Tags given at creation.
    code, _ = error(
        sm.create_endpoint_config,
        EndpointConfigName="cfg",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.g5.2xlarge"}
        ],
        Tags=[{"Key": "owner", "Value": "🙂"}],
    )
    assert code == "ValidationException"
    # Letters, separators and numbers of any script are accepted, as are the listed symbols.
    fine = [
        {"Key": "équipe", "Value": "recherche et développement"},
        {"Key": "チーム", "Value": "検索 ٣"},
        {"Key": "צוות", "Value": "חיפוש"},
        {"Key": "path/key_1.x:y=z+w-v@u", "Value": ""},
    ]
    sm.add_tags(ResourceArn=model_arn, Tags=fine)
    assert sm.list_tags(ResourceArn=model_arn)["Tags"] == fine
