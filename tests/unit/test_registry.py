"""spec.model.modelPackage in the pure core: which version serves (core.registry), the
model made from it (desired), and how rendering refuses what SageMaker would."""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from llm_operator.api.models import LLMEndpointSpec, ModelPackageSpec, serverless_problems
from llm_operator.core import registry
from llm_operator.core import render as core_render
from llm_operator.core.desired import Owner, render, token_digest
from llm_operator.core.memory import PlanMemory
from llm_operator.core.registry import Listing, Package, Served

OWNER = Owner(namespace="team-a", name="bot", uid="0b9e6a52-7f0c-4d2e-9a51-1f2b3c4d5e6f")
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"
GROUP = "support-bot-llm"
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package"
MARKET_ARN = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-llm-1-abc"
TOKEN = "hf_SECRETtokenVALUE1234567890"


def arn(version: int) -> str:
    return f"{ACCOUNT_ARN}/{GROUP}/{version}"


def approved(*versions: int) -> Listing:
    return registry.listing(
        GROUP,
        [
            {"ModelPackageArn": arn(v), "ModelPackageVersion": v, "ModelApprovalStatus": "Approved"}
            for v in versions
        ],
    )


def package(version: int | None = 1, **changes: Any) -> Package:
    base: dict[str, Any] = {
        "arn": arn(version) if version else MARKET_ARN,
        "group": GROUP if version else None,
        "version": version,
        "approval": "Approved" if version else None,
        "changed_at": "2026-12-01T10:00:00+00:00",
        "region": "us-east-1",
        "instance_types": ("ml.g5.2xlarge", "ml.g5.12xlarge"),
    }
    return Package(**{**base, **changes})


def latest(**extra: Any) -> ModelPackageSpec:
    return ModelPackageSpec.model_validate({"group": GROUP, **extra})


def test_latest_approved_is_the_newest_approved_version() -> None:
    choice = registry.choose(latest(), approved(1, 3, 2), served=None)
    assert choice.arn == arn(3) and choice.events == () and choice.problem is None


def test_a_pinned_version_serves_while_approved() -> None:
    assert registry.choose(latest(version=2), approved(1, 2, 3), None).arn == arn(2)
    refused = registry.choose(latest(version=4), approved(1, 2, 3), None)
    assert refused.arn is None and refused.problem is not None
    assert "version 4" in refused.problem[1] and "not Approved" in refused.problem[1]


def test_a_newly_approved_version_is_announced() -> None:
    choice = registry.choose(latest(), approved(1, 2), Served(arn(1), 1, GROUP))
    assert choice.arn == arn(2)
    ((kind, reason, message),) = choice.events
    assert (kind, reason) == ("Normal", "ModelVersionApproved")
    assert "version 2" in message and "serving version 1" in message


def test_a_rejected_served_version_rolls_back_to_the_newest_still_approved() -> None:
    choice = registry.choose(latest(), approved(1), Served(arn(2), 2, GROUP))
    assert choice.arn == arn(1)
    ((kind, reason, message),) = choice.events
    assert (kind, reason) == ("Warning", "ModelVersionRejected")
    assert "version 2" in message and "rolling back to version 1" in message


def test_with_no_approved_version_left_what_serves_keeps_serving_degraded() -> None:
    choice = registry.choose(latest(), approved(), Served(arn(2), 2, GROUP))
    assert choice.arn == arn(2) and choice.problem is None
    assert choice.notice is not None and choice.notice[0] == "NoApprovedVersion"
    assert "still serving version 2" in choice.notice[1]


def test_with_no_approved_version_and_nothing_served_nothing_is_made() -> None:
    choice = registry.choose(latest(), approved(), None)
    assert choice.arn is None and choice.problem is not None
    assert "update-model-package" in choice.problem[1]


def test_a_version_rolled_back_is_not_retried_until_a_newer_one_is_approved() -> None:
    rolled = (arn(3),)
    assert registry.choose(latest(), approved(1, 2, 3), Served(arn(3), 3), rolled).arn == arn(2)
    assert registry.choose(latest(), approved(1, 2, 3, 4), Served(arn(2), 2), rolled).arn == arn(4)
    # v4 rejected later: back to v2, never to the rolled-back v3.
    assert registry.choose(latest(), approved(1, 2, 3), Served(arn(4), 4), rolled).arn == arn(2)
    assert registry.not_retried(approved(1, 2, 3), rolled) == (3,)


def test_remembered_rollbacks_are_bounded() -> None:
    kept: tuple[str, ...] = ()
    for v in range(1, 30):
        kept = registry.remember_rollback(kept, arn(v))
    assert len(kept) == registry.MAX_REMEMBERED_ROLLBACKS and kept[-1] == arn(29)


def test_a_package_arn_is_served_as_it_is() -> None:
    spec = ModelPackageSpec.model_validate({"arn": MARKET_ARN})
    assert registry.choose(spec, None, None).arn == MARKET_ARN


def test_describe_answers_become_packages() -> None:
    found = registry.package(
        {
            "ModelPackageArn": MARKET_ARN,
            "CertifyForMarketplace": True,
            "InferenceSpecification": {
                "Containers": [{"Image": "x"}],
                "SupportedRealtimeInferenceInstanceTypes": ["ml.g5.12xlarge"],
            },
        }
    )
    assert found.isolation and found.instance_types == ("ml.g5.12xlarge",)
    assert found.region == "us-east-1" and found.version is None


def test_an_unsupported_instance_type_is_refused_with_the_supported_list() -> None:
    refused = registry.check(package(), region="us-east-1", instance_type="ml.g6.xlarge")
    assert refused is not None and refused[0] == "ModelPackageUnsupported"
    assert "ml.g6.xlarge" in refused[1] and "ml.g5.2xlarge, ml.g5.12xlarge" in refused[1]
    other = registry.check(package(), region="eu-west-1", instance_type="ml.g5.2xlarge")
    assert other is not None and "region us-east-1" in other[1]
    assert registry.check(package(), region="us-east-1", instance_type="ml.g5.2xlarge") is None
    market = package(None, isolation=True)
    on_ic = registry.check(
        market,
        region="us-east-1",
        instance_type="ml.g5.2xlarge",
        endpoint_type="InferenceComponent",
    )
    assert on_ic is not None and "endpointType: Model" in on_ic[1]


def test_on_serverless_capacity_a_package_is_served_but_a_marketplace_one_is_refused() -> None:
    """Serverless has no instance type to hold against the package's list, and excludes
    the network isolation a Marketplace package needs."""
    on_serverless = registry.check(
        package(), region="us-east-1", instance_type="", endpoint_type="Serverless"
    )
    assert on_serverless is None
    market = registry.check(
        package(None, isolation=True),
        region="us-east-1",
        instance_type="",
        endpoint_type="Serverless",
    )
    assert market is not None and "serverless" in market[1] and "endpointType: Model" in market[1]


def test_a_serverless_spec_with_a_model_package_needs_no_engine() -> None:
    spec = LLMEndpointSpec.model_validate(
        {
            "endpointType": "Serverless",
            "serverless": {"memoryMiB": 2048, "maxConcurrency": 5},
            "model": {"modelPackage": {"group": GROUP}},
            "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
        }
    )
    assert serverless_problems(spec) == []


SPEC: dict[str, Any] = {
    "model": {"modelPackage": {"group": GROUP}, "env": {"MAX_BATCH": "8"}},
    "instance": {"type": "ml.g5.2xlarge", "count": 1},
    "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
}


def spec_with(**model: Any) -> LLMEndpointSpec:
    raw = copy.deepcopy(SPEC)
    raw["model"].update(model)
    return LLMEndpointSpec.model_validate(raw)


def test_the_model_is_made_from_the_package_with_environment_overrides() -> None:
    want = render(spec_with(), OWNER, hf_token=None, package=package(1))
    request = dict(want.model.create_request)
    assert request["Containers"] == [
        {"ModelPackageName": arn(1), "Environment": {"MAX_BATCH": "8"}}
    ]
    assert "PrimaryContainer" not in request and "EnableNetworkIsolation" not in request
    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model("CreateModel")
        .input_shape
    )
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert want.package is not None and want.package.version == 1


def test_each_version_gets_its_own_model_name() -> None:
    one = render(spec_with(), OWNER, hf_token=None, package=package(1))
    two = render(spec_with(), OWNER, hf_token=None, package=package(2))
    again = render(spec_with(), OWNER, hf_token=None, package=package(2))
    assert one.model.name != two.model.name == again.model.name
    # The config and component that name the model change with it: a rollout.
    assert one.components[0].specification != two.components[0].specification


def test_a_marketplace_package_runs_isolated_and_never_gets_the_token() -> None:
    isolated = package(None, isolation=True)
    want = render(spec_with(), OWNER, hf_token=TOKEN, package=isolated)
    assert want.model.create_request["EnableNetworkIsolation"] is True
    assert TOKEN not in repr(dict(want.model.create_request))


def test_the_token_goes_in_only_when_the_spec_references_one() -> None:
    plain = render(spec_with(), OWNER, hf_token=None, package=package(1))
    assert "HF_TOKEN" not in plain.model.create_request["Containers"][0]["Environment"]
    gated = render(spec_with(), OWNER, hf_token=TOKEN, package=package(1))
    assert gated.model.create_request["Containers"][0]["Environment"]["HF_TOKEN"] == TOKEN
    assert TOKEN not in gated.model.name and token_digest(TOKEN) not in gated.model.name


def _body(**model: Any) -> dict[str, Any]:
    raw = copy.deepcopy(SPEC)
    raw["model"].update(model)
    return {
        "metadata": {"namespace": "team-a", "name": "bot", "uid": OWNER.uid, "generation": 1},
        "spec": raw,
    }


def _rendered(
    read: registry.Read | None, *, status: dict[str, Any] | None = None, **model: Any
) -> core_render.Rendered:
    parsed = core_render.parse(_body(**model), status or {})
    return core_render.render(parsed, core_render.Facts(registry=read))


def test_rendering_waits_for_the_registry_without_a_problem() -> None:
    rendered = _rendered(None)
    assert not rendered.complete and rendered.errors == []
    assert rendered.parsed.wants_registry


def test_rendering_serves_the_chosen_version_and_says_what_moved() -> None:
    status = {"model": {"group": GROUP, "version": 1, "arn": arn(1)}}
    parsed = core_render.parse(_body(), status)
    found = approved(1, 2)
    choice = parsed.choose(found)
    read = registry.Read(choice, found, package(2))
    rendered = core_render.render(parsed, core_render.Facts(registry=read))
    assert rendered.complete and rendered.desired.package == package(2)
    assert [e[1] for e in rendered.events] == ["ModelVersionApproved"]
    assert rendered.spec is not None and rendered.spec.model.engine is None


@pytest.mark.parametrize(
    ("read", "model", "reason", "words"),
    [
        (
            registry.Read(registry.choose(latest(), approved(), None), approved()),
            {},
            "NoApprovedVersion",
            "has no Approved version",
        ),
        (
            registry.Read(registry.Choice(arn(1)), approved(1), unavailable="not subscribed"),
            {},
            "ModelPackageUnavailable",
            "not subscribed",
        ),
        (
            registry.Read(registry.Choice(arn(1)), approved(1), package(1)),
            {"_type": "ml.g6.xlarge"},
            "ModelPackageUnsupported",
            "supported: ml.g5.2xlarge, ml.g5.12xlarge",
        ),
        (
            registry.Read(registry.Choice(MARKET_ARN), None, package(None, isolation=True)),
            {"hfTokenSecretRef": {"name": "hf"}, "_model_endpoint": True},
            "ModelPackageUnsupported",
            "network isolation",
        ),
    ],
)
def test_what_sagemaker_would_refuse_is_refused_before_anything_is_sent(
    read: registry.Read, model: dict[str, Any], reason: str, words: str
) -> None:
    body = _body(**{k: v for k, v in model.items() if not k.startswith("_")})
    if "_type" in model:
        body["spec"]["instance"]["type"] = model["_type"]
    if "_model_endpoint" in model:
        body["spec"]["endpointType"] = "Model"
    rendered = core_render.render(core_render.parse(body, {}), core_render.Facts(registry=read))
    refusal = rendered.refusal()
    assert not rendered.complete and refusal is not None
    assert refusal.reason == reason and words in refusal.message


def test_rollbacks_are_remembered_in_status() -> None:
    memory = PlanMemory(package_rollbacks=(arn(3),))
    assert PlanMemory.from_dict(memory.to_dict()).package_rollbacks == (arn(3),)
    assert PlanMemory.from_dict({"packageRollbacks": "x"}).package_rollbacks == ()


def test_status_names_the_version() -> None:
    status = registry.status_of(package(2), (3,))
    assert status == {
        "group": GROUP,
        "version": 2,
        "arn": arn(2),
        "approval": "Approved",
        "approvedAt": "2026-12-01T10:00:00+00:00",
        "notRetried": [3],
    }
    assert registry.served({"model": status}) == Served(arn(2), 2, GROUP)


def test_the_account_wide_listing_files_a_group_by_name_or_by_an_arn_of_the_account() -> None:
    group_arn = f"arn:aws:sagemaker:us-east-1:111122223333:model-package-group/{GROUP}"

    def key(group: str, account: str | None = "111122223333") -> str | None:
        return registry.group_key(group, account=account, region="us-east-1")

    assert key(GROUP) == key(GROUP.upper()) == key(group_arn) == GROUP
    assert key(GROUP, account=None) == GROUP  # by name: always the caller's own
    # Only a listing of the group itself answers for another account's, region's, or
    # an account not known yet.
    assert key(group_arn.replace("111122223333", "444455556666")) is None
    assert key(group_arn.replace("us-east-1", "eu-west-1")) is None
    assert key(group_arn, account=None) is None
    assert key(group_arn.replace("model-package-group", "model-package")) is None


def test_many_groups_listed_at_once_give_each_group_its_own_listing() -> None:
    def summary(group: str, version: int, status: str = "Approved") -> dict[str, Any]:
        return {
            "ModelPackageGroupName": group,
            "ModelPackageArn": f"{ACCOUNT_ARN}/{group.lower()}/{version}",
            "ModelPackageVersion": version,
            "ModelApprovalStatus": status,
        }

    filed = registry.by_group(
        [summary(GROUP, 3), summary("Other-LLM", 9), summary(GROUP, 1), summary(GROUP, 3)]
    )
    assert sorted(filed) == ["other-llm", GROUP]
    own = registry.listing(GROUP, filed[GROUP])
    assert [v.version for v in own.approved] == [3, 1]  # a version seen twice counts once
    assert own == registry.listing(GROUP, [summary(GROUP, 1), summary(GROUP, 3)])
