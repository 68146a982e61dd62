"""The region list the CRD refuses typos with matches the locked botocore's endpoint data."""

from __future__ import annotations

import json

from scripts.regions import TARGET, current

from llm_operator.api import regions


def test_regions_json_matches_the_installed_botocore() -> None:
    committed = json.loads(TARGET.read_text())
    assert committed == current(), "api/regions.json is stale: run `make regions`"


def test_known_regions_include_every_partition() -> None:
    known = regions.sagemaker_regions()
    assert {"us-east-1", "cn-north-1", "us-gov-west-1"} <= set(known)
    assert "us-eats-1" not in known
