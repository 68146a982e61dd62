"""The model registry through boto3: groups, versioned and unversioned packages, approval,
models created from packages, and AWS Marketplace packages seeded through the admin API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.emulator.builders import IMAGE, ROLE, error
from tests.emulator.builders import package_spec as spec
from tests.emulator.builders import package_version as version
from tests.plugins.emulator_fixtures import boto3_client

ARN = "arn:aws:sagemaker:us-east-1:123456789012"
MARKETPLACE_ARN = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-llm-1-abc"
VENDOR_IMAGE = "865070037744.dkr.ecr.us-east-1.amazonaws.com/vendor-llm-1:1.0"
PROMPT = json.dumps({"inputs": "What is SageMaker?", "parameters": {"max_new_tokens": 12}}).encode()


def summaries(answer: dict[str, Any]) -> list[tuple[int | str, str | None]]:
    return [
        (s.get("ModelPackageVersion") or s["ModelPackageName"], s.get("ModelApprovalStatus"))
        for s in answer["ModelPackageSummaryList"]
    ]


@pytest.fixture
def marketplace(emulator_admin: AdminClient) -> str:
    seeded = emulator_admin.seed_marketplace_package(
        arn=MARKETPLACE_ARN,
        image=VENDOR_IMAGE,
        environment={"HF_MODEL_ID": "vendor/llm-1"},
        supported_realtime_instance_types=["ml.g5.12xlarge", "ml.g5.48xlarge"],
    )
    arn: str = seeded["ModelPackageArn"]
    return arn


# -- groups ------------------------------------------------------------------------


def test_group_lifecycle_with_tags(sm: Any) -> None:
    created = sm.create_model_package_group(
        ModelPackageGroupName="Support-Bot",
        ModelPackageGroupDescription="the support bot's fine-tunes",
        Tags=[{"Key": "team", "Value": "support"}],
    )
    group_arn = f"{ARN}:model-package-group/support-bot"
    assert created["ModelPackageGroupArn"] == group_arn
    described = sm.describe_model_package_group(ModelPackageGroupName="Support-Bot")
    assert described["ModelPackageGroupName"] == "Support-Bot"
    assert described["ModelPackageGroupStatus"] == "Completed"
    assert described["ModelPackageGroupDescription"] == "the support bot's fine-tunes"
    by_arn = sm.describe_model_package_group(ModelPackageGroupName=group_arn)
    assert by_arn["ModelPackageGroupArn"] == group_arn
    assert sm.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "support"}]
    sm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "owner", "Value": "ml"}])
    assert len(sm.list_tags(ResourceArn=group_arn)["Tags"]) == 2
    code, message = error(sm.create_model_package_group, ModelPackageGroupName="support-bot")
    assert code == "ValidationException" and group_arn in message
    sm.delete_model_package_group(ModelPackageGroupName=group_arn)
    code, message = error(sm.describe_model_package_group, ModelPackageGroupName="Support-Bot")
    assert (code, message) == (
        "ValidationException",
        f"ModelPackageGroup {ARN}:model-package-group/support-bot does not exist.",
    )
    code, _ = error(sm.list_tags, ResourceArn=group_arn)
    assert code == "ValidationException"


def test_group_holding_versions_cannot_be_deleted(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    first = version(sm)
    code, message = error(sm.delete_model_package_group, ModelPackageGroupName="support-bot")
    assert code == "ConflictException" and "contains 1 model package version" in message
    sm.delete_model_package(ModelPackageName=first)
    sm.delete_model_package_group(ModelPackageGroupName="support-bot")
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_list_groups_filters_sorts_and_pages(sm: Any) -> None:
    for name in ("bravo", "alpha", "charlie-bot", "delta-bot"):
        sm.create_model_package_group(ModelPackageGroupName=name)
    listed = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in listed] == [
        "delta-bot",
        "charlie-bot",
        "alpha",
        "bravo",
    ]
    by_name = sm.list_model_package_groups(SortBy="Name", SortOrder="Ascending")
    assert [g["ModelPackageGroupName"] for g in by_name["ModelPackageGroupSummaryList"]] == [
        "alpha",
        "bravo",
        "charlie-bot",
        "delta-bot",
    ]
    bots = sm.list_model_package_groups(NameContains="BOT")["ModelPackageGroupSummaryList"]
    assert {g["ModelPackageGroupName"] for g in bots} == {"charlie-bot", "delta-bot"}
    names: list[str] = []
    pages = sm.get_paginator("list_model_package_groups").paginate(
        SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 3}
    )
    for page in pages:
        names += [g["ModelPackageGroupName"] for g in page["ModelPackageGroupSummaryList"]]
    assert names == ["alpha", "bravo", "charlie-bot", "delta-bot"]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert (
        sm.list_model_package_groups(CreationTimeAfter=future)["ModelPackageGroupSummaryList"] == []
    )


def test_group_names_are_validated_against_the_service_model(sm: Any) -> None:
    code, message = error(sm.create_model_package_group, ModelPackageGroupName="bad_name")
    assert code == "ValidationException"
    assert "at 'modelPackageGroupName' failed to satisfy constraint" in message


# -- versioned packages --------------------------------------------------------------


def test_versions_are_numbered_per_group_and_never_reused(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    sm.create_model_package_group(ModelPackageGroupName="other")
    first = version(sm)
    second = version(sm)
    assert first == f"{ARN}:model-package/support-bot/1"
    assert second == f"{ARN}:model-package/support-bot/2"
    assert version(sm, "other") == f"{ARN}:model-package/other/1"
    sm.delete_model_package(ModelPackageName=second)
    assert version(sm) == f"{ARN}:model-package/support-bot/3"


def test_describe_a_version_by_arn_and_by_group_and_number(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(sm, ModelPackageDescription="fine-tune of 2026-12-01")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelPackageArn"] == arn
    assert described["ModelPackageGroupName"] == "support-bot"
    assert described["ModelPackageVersion"] == 1
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["InferenceSpecification"] == spec()
    assert described["ModelPackageDescription"] == "fine-tune of 2026-12-01"
    assert sm.describe_model_package(ModelPackageName="support-bot/1")["ModelPackageArn"] == arn
    code, message = error(sm.describe_model_package, ModelPackageName="support-bot/9")
    assert (code, message) == (
        "ValidationException",
        f"ModelPackage {ARN}:model-package/support-bot/9 does not exist.",
    )


def test_create_package_needs_exactly_one_of_name_and_group(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    code, message = error(
        sm.create_model_package,
        ModelPackageName="x",
        ModelPackageGroupName="support-bot",
        InferenceSpecification=spec(),
    )
    assert code == "ValidationException" and "Both ModelPackageName and" in message
    code, message = error(sm.create_model_package, InferenceSpecification=spec())
    assert (code, message) == ("ValidationException", "Missing ARN.")
    code, message = error(
        sm.create_model_package, ModelPackageGroupName="nope", InferenceSpecification=spec()
    )
    assert message == f"ModelPackageGroup {ARN}:model-package-group/nope does not exist."


def test_approval_transitions_move_last_modified(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(sm)
    created = sm.describe_model_package(ModelPackageName=arn)
    sm.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="evals pass"
    )
    approved = sm.describe_model_package(ModelPackageName=arn)
    assert approved["ModelApprovalStatus"] == "Approved"
    assert approved["ApprovalDescription"] == "evals pass"
    assert approved["LastModifiedTime"] > created["LastModifiedTime"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    rejected = sm.describe_model_package(ModelPackageName=arn)
    assert rejected["ModelApprovalStatus"] == "Rejected"
    assert rejected["LastModifiedTime"] > approved["LastModifiedTime"]
    code, message = error(
        sm.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Accepted"
    )
    assert code == "ValidationException" and "enum value set" in message
    code, message = error(
        sm.update_model_package,
        ModelPackageArn=f"{ARN}:model-package/support-bot/7",
        ModelApprovalStatus="Approved",
    )
    assert message == f"ModelPackage {ARN}:model-package/support-bot/7 does not exist."


def test_list_versions_newest_approved_first(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    version(sm, status="Approved")
    version(sm, status="Rejected")
    version(sm, status="Approved")
    version(sm)
    newest_approved = sm.list_model_packages(
        ModelPackageGroupName="support-bot",
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    assert summaries(newest_approved) == [(3, "Approved")]
    assert "NextToken" in newest_approved
    everything = sm.list_model_packages(
        ModelPackageGroupName=f"{ARN}:model-package-group/support-bot"
    )
    assert summaries(everything) == [
        (4, "PendingManualApproval"),
        (3, "Approved"),
        (2, "Rejected"),
        (1, "Approved"),
    ]
    oldest_first = sm.list_model_packages(
        ModelPackageGroupName="support-bot", SortOrder="Ascending"
    )
    assert [s["ModelPackageVersion"] for s in oldest_first["ModelPackageSummaryList"]] == [
        1,
        2,
        3,
        4,
    ]
    pages = sm.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName="support-bot", PaginationConfig={"PageSize": 3}
    )
    assert [len(p["ModelPackageSummaryList"]) for p in pages] == [3, 1]
    hour = timedelta(hours=1)
    for bounds, expected in (
        ({"CreationTimeBefore": datetime.now(UTC) + hour}, [4, 3, 2, 1]),
        ({"CreationTimeAfter": datetime.now(UTC) + hour}, []),
        ({"CreationTimeBefore": datetime.now(UTC) - hour}, []),
    ):
        bounded = sm.list_model_packages(ModelPackageGroupName="support-bot", **bounds)
        assert [s["ModelPackageVersion"] for s in bounded["ModelPackageSummaryList"]] == expected
    code, _ = error(sm.list_model_packages, ModelPackageGroupName="support-bot", NextToken="bad")
    assert code == "ValidationException"


def test_list_by_package_type(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    version(sm)
    sm.create_model_package(ModelPackageName="standalone", InferenceSpecification=spec())
    default = sm.list_model_packages()["ModelPackageSummaryList"]
    assert [s["ModelPackageName"] for s in default] == ["standalone"]
    assert "ModelApprovalStatus" not in default[0]
    versioned = sm.list_model_packages(ModelPackageType="Versioned")["ModelPackageSummaryList"]
    assert [s["ModelPackageArn"] for s in versioned] == [f"{ARN}:model-package/support-bot/1"]
    both = sm.list_model_packages(ModelPackageType="Both", SortBy="Name", SortOrder="Ascending")
    assert [s["ModelPackageName"] for s in both["ModelPackageSummaryList"]] == [
        "standalone",
        "support-bot",
    ]


def test_every_approved_version_of_the_account_newest_first(sm: Any, emulator: Any) -> None:
    for group in ("support-bot", "search"):
        sm.create_model_package_group(ModelPackageGroupName=group)
    version(sm, "support-bot", status="Approved")
    version(sm, "search", status="Approved")
    version(sm, "support-bot", status="Rejected")
    version(sm, "search")
    version(sm, "support-bot", status="Approved")
    sm.create_model_package(ModelPackageName="standalone", InferenceSpecification=spec())
    other = boto3_client(emulator.url, aws_access_key_id="210987654321")
    other.create_model_package_group(ModelPackageGroupName="support-bot")
    version(other, "support-bot", status="Approved")
    wanted = {
        "ModelPackageType": "Versioned",
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    listed = sm.list_model_packages(**wanted)
    assert [
        (s["ModelPackageGroupName"], s["ModelPackageVersion"], s["ModelApprovalStatus"])
        for s in listed["ModelPackageSummaryList"]
    ] == [("support-bot", 3, "Approved"), ("search", 1, "Approved"), ("support-bot", 1, "Approved")]
    assert "NextToken" not in listed
    pages = sm.get_paginator("list_model_packages").paginate(
        **wanted, PaginationConfig={"PageSize": 2}
    )
    assert [[s["ModelPackageArn"] for s in p["ModelPackageSummaryList"]] for p in pages] == [
        [f"{ARN}:model-package/support-bot/3", f"{ARN}:model-package/search/1"],
        [f"{ARN}:model-package/support-bot/1"],
    ]


def test_unversioned_packages(sm: Any) -> None:
    arn = sm.create_model_package(
        ModelPackageName="Standalone-LLM",
        InferenceSpecification=spec(),
        CertifyForMarketplace=True,
        Tags=[{"Key": "team", "Value": "ml"}],
    )["ModelPackageArn"]
    assert arn == f"{ARN}:model-package/standalone-llm"
    described = sm.describe_model_package(ModelPackageName="Standalone-LLM")
    assert described["CertifyForMarketplace"] is True
    assert "ModelPackageVersion" not in described and "ModelApprovalStatus" not in described
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    code, message = error(
        sm.create_model_package, ModelPackageName="standalone-llm", InferenceSpecification=spec()
    )
    assert code == "ValidationException" and arn in message
    code, message = error(
        sm.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved"
    )
    assert code == "ValidationException" and "versioned model packages only" in message
    sm.delete_model_package(ModelPackageName=arn)
    code, _ = error(sm.describe_model_package, ModelPackageName=arn)
    assert code == "ValidationException"


# -- models from packages ------------------------------------------------------------


def test_a_model_from_an_approved_version_runs_its_container(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(sm, status="Approved")
    sm.create_model(
        ModelName="from-package",
        PrimaryContainer={"ModelPackageName": arn, "Environment": {"MAX_TOTAL_TOKENS": "4096"}},
        ExecutionRoleArn=ROLE,
    )
    described = sm.describe_model(ModelName="from-package")
    assert described["PrimaryContainer"]["ModelPackageName"] == arn
    builders.model(sm, "from-image")  # the same image and model id, given directly
    for name in ("from-package", "from-image"):
        builders.model_config(sm, f"cfg-{name}", name)
        sm.create_endpoint(EndpointName=f"ep-{name}", EndpointConfigName=f"cfg-{name}")
    emulator_admin.settle()
    endpoint = sm.describe_endpoint(EndpointName="ep-from-package")
    assert endpoint["EndpointStatus"] == "InService"
    deployed = endpoint["ProductionVariants"][0]["DeployedImages"][0]
    assert deployed["SpecifiedImage"] == IMAGE
    answers = [
        json.loads(
            rt.invoke_endpoint(
                EndpointName=f"ep-{name}", Body=PROMPT, ContentType="application/json"
            )["Body"].read()
        )
        for name in ("from-package", "from-image")
    ]
    assert answers[0] == answers[1] and answers[0][0]["generated_text"]


def test_a_version_that_is_not_approved_cannot_make_a_model(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    pending = version(sm)
    rejected = version(sm, status="Rejected")
    for arn, status in ((pending, "PendingManualApproval"), (rejected, "Rejected")):
        code, message = error(
            sm.create_model,
            ModelName="m",
            PrimaryContainer={"ModelPackageName": arn},
            ExecutionRoleArn=ROLE,
        )
        assert code == "ValidationException"
        assert f"{arn} has ModelApprovalStatus {status}" in message
    code, message = error(
        sm.create_model,
        ModelName="m",
        Containers=[{"ModelPackageName": f"{ARN}:model-package/support-bot/5"}],
        ExecutionRoleArn=ROLE,
    )
    assert message == f"ModelPackage {ARN}:model-package/support-bot/5 does not exist."
    assert sm.list_models()["Models"] == []


def test_instance_types_the_package_does_not_list_are_refused(
    sm: Any, emulator_admin: AdminClient
) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(
        sm,
        status="Approved",
        InferenceSpecification=spec(instance_types=["ml.g5.2xlarge", "ml.g5.12xlarge"]),
    )
    sm.create_model(
        ModelName="m", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE
    )
    code, message = error(
        builders.model_config, sm=sm, name="cfg", model_name="m", instance="ml.g6.xlarge"
    )
    assert code == "ValidationException"
    assert message == (
        f"The instance type ml.g6.xlarge of production variant AllTraffic is not supported by "
        f"model package {arn} (model m). Supported real-time inference instance types: "
        "ml.g5.2xlarge, ml.g5.12xlarge."
    )
    builders.model_config(sm, "cfg", "m", instance="ml.g5.2xlarge")


# -- AWS Marketplace ------------------------------------------------------------------


def test_a_marketplace_package_is_described_by_arn(sm: Any, marketplace: str) -> None:
    described = sm.describe_model_package(ModelPackageName=marketplace)
    assert described["ModelPackageArn"] == MARKETPLACE_ARN
    assert described["CertifyForMarketplace"] is True
    assert described["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [
        "ml.g5.12xlarge",
        "ml.g5.48xlarge",
    ]
    assert sm.list_model_packages(ModelPackageType="Both")["ModelPackageSummaryList"] == []
    code, message = error(sm.delete_model_package, ModelPackageName=marketplace)
    assert code == "ValidationException" and "only its owner" in message


def test_a_marketplace_model_needs_network_isolation(
    sm: Any, rt: Any, emulator_admin: AdminClient, marketplace: str
) -> None:
    code, message = error(
        sm.create_model,
        ModelName="vendor",
        PrimaryContainer={"ModelPackageName": marketplace},
        ExecutionRoleArn=ROLE,
    )
    assert code == "ValidationException"
    assert message.startswith(
        "EnableNetworkIsolation must be true for models using SageMaker Marketplace model packages"
    )
    sm.create_model(
        ModelName="vendor",
        PrimaryContainer={"ModelPackageName": marketplace},
        ExecutionRoleArn=ROLE,
        EnableNetworkIsolation=True,
    )
    code, message = error(
        builders.model_config, sm=sm, name="cfg", model_name="vendor", instance="ml.g5.2xlarge"
    )
    assert code == "ValidationException"
    assert (
        "Supported real-time inference instance types: ml.g5.12xlarge, ml.g5.48xlarge." in message
    )
    builders.model_config(sm, "cfg", "vendor", instance="ml.g5.12xlarge")
    sm.create_endpoint(EndpointName="vendor-ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    endpoint = sm.describe_endpoint(EndpointName="vendor-ep")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == VENDOR_IMAGE
    answer = rt.invoke_endpoint(
        EndpointName="vendor-ep", Body=PROMPT, ContentType="application/json"
    )
    assert json.loads(answer["Body"].read())[0]["generated_text"]


def test_inference_components_cannot_host_a_marketplace_model(
    sm: Any, emulator_admin: AdminClient, marketplace: str
) -> None:
    sm.create_model(
        ModelName="vendor",
        PrimaryContainer={"ModelPackageName": marketplace},
        ExecutionRoleArn=ROLE,
        EnableNetworkIsolation=True,
    )
    builders.component_config(sm, "cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    code, message = error(builders.component, sm=sm, name="ic", endpoint="ep", model_name="vendor")
    assert code == "ValidationException"
    assert "inference components cannot host AWS Marketplace model packages" in message


def test_a_marketplace_package_in_another_region_does_not_exist(
    sm: Any, emulator_admin: AdminClient
) -> None:
    other = "arn:aws:sagemaker:eu-west-1:865070037744:model-package/vendor-llm-1-abc"
    emulator_admin.seed_marketplace_package(
        arn=other, image=VENDOR_IMAGE, supported_realtime_instance_types=["ml.g5.12xlarge"]
    )
    code, message = error(sm.describe_model_package, ModelPackageName=other)
    assert (code, message) == ("ValidationException", f"ModelPackage {other} does not exist.")


def test_throttled_list_model_packages_is_counted(sm: Any, emulator_admin: AdminClient) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    emulator_admin.faults(throttle_rate=1.0, operations=["ListModelPackages"])
    code, _ = error(sm.list_model_packages, ModelPackageGroupName="support-bot")
    assert code == "ThrottlingException"
    assert sm.describe_model_package_group(ModelPackageGroupName="support-bot")
    emulator_admin.clear_faults()
    assert (
        sm.list_model_packages(ModelPackageGroupName="support-bot")["ModelPackageSummaryList"] == []
    )
    throttled = emulator_admin.call_log(operation="ListModelPackages")
    assert [c["error"] for c in throttled][-1] is None
    assert "ThrottlingException" in [c["error"] for c in throttled]


def test_the_request_environment_overrides_the_packages(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    """HF_MODEL_ID given in CreateModel wins over the package's: the model serves that one."""
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(sm, status="Approved")
    sm.create_model(
        ModelName="overridden",
        PrimaryContainer={
            "ModelPackageName": arn,
            "Environment": {"HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.3"},
        },
        ExecutionRoleArn=ROLE,
    )
    builders.model(sm, "mistral", model_id="mistralai/Mistral-7B-Instruct-v0.3")
    builders.model(sm, "llama")  # the package's own model id
    for name in ("overridden", "mistral", "llama"):
        builders.model_config(sm, f"cfg-{name}", name)
        sm.create_endpoint(EndpointName=f"ep-{name}", EndpointConfigName=f"cfg-{name}")
    emulator_admin.settle()
    answers = {
        name: json.loads(
            rt.invoke_endpoint(
                EndpointName=f"ep-{name}", Body=PROMPT, ContentType="application/json"
            )["Body"].read()
        )
        for name in ("overridden", "mistral", "llama")
    }
    assert answers["overridden"] == answers["mistral"] != answers["llama"]


def test_a_package_container_that_cannot_start_fails_the_endpoint(
    sm: Any, emulator_admin: AdminClient
) -> None:
    """The package's variables are the container's: tensor parallelism beyond the GPUs fails."""
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(sm, status="Approved")
    sm.create_model(
        ModelName="m",
        PrimaryContainer={"ModelPackageName": arn, "Environment": {"SM_NUM_GPUS": "8"}},
        ExecutionRoleArn=ROLE,
    )
    builders.model_config(sm, "cfg", "m", instance="ml.g5.2xlarge")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in endpoint["FailureReason"]


def test_inference_components_host_a_registry_model_on_a_supported_instance(
    sm: Any, emulator_admin: AdminClient
) -> None:
    sm.create_model_package_group(ModelPackageGroupName="support-bot")
    arn = version(
        sm, status="Approved", InferenceSpecification=spec(instance_types=["ml.g5.12xlarge"])
    )
    sm.create_model(
        ModelName="m", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE
    )
    builders.component_config(sm, "big", instance="ml.g5.12xlarge")
    builders.component_config(sm, "small", instance="ml.g5.48xlarge")
    sm.create_endpoint(EndpointName="big", EndpointConfigName="big")
    sm.create_endpoint(EndpointName="small", EndpointConfigName="small")
    emulator_admin.settle()
    builders.component(sm, "ic", "big", model_name="m")
    emulator_admin.settle()
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    code, message = error(builders.component, sm=sm, name="ic2", endpoint="small", model_name="m")
    assert code == "ValidationException"
    assert "ml.g5.48xlarge of variant AllTraffic is not supported by model package" in message


def test_another_accounts_version_does_not_exist_for_the_caller(sm: Any, emulator: Any) -> None:
    other = boto3_client(emulator.url, aws_access_key_id="210987654321")
    other.create_model_package_group(ModelPackageGroupName="theirs")
    arn = other.create_model_package(
        ModelPackageGroupName="theirs",
        InferenceSpecification=spec(),
        ModelApprovalStatus="Approved",
    )["ModelPackageArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:210987654321:model-package/theirs/1"
    code, message = error(sm.describe_model_package, ModelPackageName=arn)
    assert (code, message) == ("ValidationException", f"ModelPackage {arn} does not exist.")
    code, _ = error(
        sm.create_model,
        ModelName="m",
        PrimaryContainer={"ModelPackageName": arn},
        ExecutionRoleArn=ROLE,
    )
    assert code == "ValidationException"
    assert sm.list_model_packages(ModelPackageType="Both")["ModelPackageSummaryList"] == []


def test_registry_writes_are_in_the_call_log(sm: Any, emulator_admin: AdminClient) -> None:
    group_arn = sm.create_model_package_group(
        ModelPackageGroupName="support-bot", Tags=[{"Key": "team", "Value": "ml"}]
    )["ModelPackageGroupArn"]
    arn = version(sm)
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sm.list_model_packages(ModelPackageGroupName="support-bot")
    sm.delete_model_package(ModelPackageName="support-bot/1")
    sm.delete_model_package_group(ModelPackageGroupName=group_arn)
    log = emulator_admin.call_log()
    assert [(c["operation"], c["write"], c["resource_arn"], c["tags"]) for c in log] == [
        ("CreateModelPackageGroup", True, group_arn, None),
        ("CreateModelPackage", True, None, None),  # a version's ARN is not known before
        ("UpdateModelPackage", True, arn, {}),
        ("ListModelPackages", False, None, None),
        ("DeleteModelPackage", True, arn, {}),
        ("DeleteModelPackageGroup", True, group_arn, {"team": "ml"}),
    ]


def test_the_registry_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with EmulatorServer(state_file=state) as server:
        sm = boto3_client(server.url)
        AdminClient(server.url).seed_marketplace_package(
            arn=MARKETPLACE_ARN,
            image=VENDOR_IMAGE,
            supported_realtime_instance_types=["ml.g5.12xlarge"],
        )
        sm.create_model_package_group(ModelPackageGroupName="support-bot")
        version(sm, status="Approved")
        sm.delete_model_package(ModelPackageName=version(sm))
    with EmulatorServer(state_file=state) as server:
        sm = boto3_client(server.url)
        assert version(sm) == f"{ARN}:model-package/support-bot/3"
        listed = sm.list_model_packages(ModelPackageGroupName="support-bot")
        assert summaries(listed) == [(3, "PendingManualApproval"), (1, "Approved")]
        assert sm.describe_model_package(ModelPackageName=MARKETPLACE_ARN)["CertifyForMarketplace"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"image": VENDOR_IMAGE, "supported_realtime_instance_types": ["ml.g5.12xlarge"]}, "name"),
        (
            {"arn": "arn:aws:sagemaker:us-east-1:865070037744:model/x", "image": VENDOR_IMAGE},
            "arn must look like",
        ),
        ({"name": "vendor", "supported_realtime_instance_types": ["ml.g5.12xlarge"]}, "image"),
        (
            {"name": "vendor", "image": VENDOR_IMAGE, "supported_realtime_instance_types": ["g5"]},
            "not SageMaker instance types: g5",
        ),
        ({"name": "vendor", "image": VENDOR_IMAGE}, "at least one instance type"),
    ],
)
def test_seeding_refuses_what_cannot_be_a_marketplace_package(
    emulator: Any, emulator_admin: AdminClient, body: dict[str, Any], complaint: str
) -> None:
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/marketplace/model-packages",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert complaint in json.loads(refused.value.read())["error"]
