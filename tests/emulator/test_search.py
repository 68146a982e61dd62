"""Search: endpoints and models with their tags, filtered and paged as SageMaker does it
(what a client uses to read a region's resources and their tags 100 to a page)."""

from __future__ import annotations

from typing import Any

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error

OWNED = {"Name": "Tags.team", "Operator": "Equals", "Value": "chat"}


def _endpoints(sm: Any, emulator_admin: AdminClient, count: int) -> None:
    builders.model(sm, "m")
    sm.add_tags(
        ResourceArn=sm.describe_model(ModelName="m")["ModelArn"],
        Tags=[{"Key": "team", "Value": "chat"}],
    )
    builders.model_config(sm, "cfg", "m")
    for index in range(count):
        tags = [{"Key": "team", "Value": "chat" if index % 2 == 0 else "search"}]
        sm.create_endpoint(EndpointName=f"ep-{index}", EndpointConfigName="cfg", Tags=tags)
    emulator_admin.settle()


def test_search_returns_endpoints_as_described_with_their_tags(
    sm: Any, emulator_admin: AdminClient
) -> None:
    _endpoints(sm, emulator_admin, 3)
    found = sm.search(Resource="Endpoint", SearchExpression={"Filters": [OWNED]})
    endpoints = [r["Endpoint"] for r in found["Results"]]
    assert sorted(e["EndpointName"] for e in endpoints) == ["ep-0", "ep-2"]
    assert found["TotalHits"] == {"Value": 2, "Relation": "EqualTo"}
    described = sm.describe_endpoint(EndpointName="ep-0")
    ep0 = next(e for e in endpoints if e["EndpointName"] == "ep-0")
    assert ep0["Tags"] == [{"Key": "team", "Value": "chat"}]
    for member in ("EndpointArn", "EndpointStatus", "EndpointConfigName", "LastModifiedTime"):
        assert ep0[member] == described[member]
    assert ep0["ProductionVariants"][0]["CurrentInstanceCount"] == 1


def test_search_pages_and_combines_filters(sm: Any, emulator_admin: AdminClient) -> None:
    _endpoints(sm, emulator_admin, 5)
    names: list[str] = []
    pages = 0
    for page in sm.get_paginator("search").paginate(
        Resource="Endpoint", PaginationConfig={"PageSize": 2}
    ):
        pages += 1
        names += [r["Endpoint"]["EndpointName"] for r in page["Results"]]
    assert pages == 3 and sorted(names) == [f"ep-{i}" for i in range(5)]
    either = sm.search(
        Resource="Endpoint",
        SearchExpression={
            "Filters": [
                {"Name": "EndpointName", "Operator": "Equals", "Value": "ep-1"},
                {"Name": "EndpointName", "Operator": "Contains", "Value": "-4"},
            ],
            "Operator": "Or",
        },
        SortBy="EndpointName",
        SortOrder="Ascending",
    )
    assert [r["Endpoint"]["EndpointName"] for r in either["Results"]] == ["ep-1", "ep-4"]
    untagged = sm.search(
        Resource="Endpoint",
        SearchExpression={"Filters": [{"Name": "Tags.owner", "Operator": "NotExists"}]},
        MaxResults=100,
    )
    assert len(untagged["Results"]) == 5 and "NextToken" not in untagged


def test_search_returns_models_with_their_tags(sm: Any, emulator_admin: AdminClient) -> None:
    _endpoints(sm, emulator_admin, 1)
    builders.model(sm, "other")
    found = sm.search(Resource="Model", SearchExpression={"Filters": [OWNED]})
    (model,) = [r["Model"]["Model"] for r in found["Results"]]
    assert model["ModelName"] == "m"
    assert model["Tags"] == [{"Key": "team", "Value": "chat"}]
    assert model["ModelArn"] == sm.describe_model(ModelName="m")["ModelArn"]
    # What the emulator does not hold, it has none of.
    assert sm.search(Resource="TrainingJob")["Results"] == []


def test_search_refuses_what_it_cannot_answer(sm: Any) -> None:
    code, message = error(
        sm.search,
        Resource="Endpoint",
        SearchExpression={"NestedFilters": [{"NestedPropertyName": "Tags", "Filters": [OWNED]}]},
    )
    assert code == "ValidationException" and "NestedFilters" in message
    code, message = error(
        sm.search, Resource="Endpoint", SearchExpression={"Filters": [{"Name": "EndpointName"}]}
    )
    assert code == "ValidationException" and "Value" in message
