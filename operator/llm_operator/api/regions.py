"""Regions where SageMaker exists, so a typo in `aws.region` is refused at apply time.

The list is data (`regions.json`, taken from botocore's endpoint data for the
locked botocore version) rather than an import of botocore: the API package
stays free of AWS SDKs, and the CRD is the same on every machine.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _json() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("regions.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _data() -> dict[str, list[str]]:
    partitions: dict[str, list[str]] = _json()["partitions"]
    return partitions


def sagemaker_regions() -> list[str]:
    """Every region of every partition that has SageMaker, sorted."""
    return sorted({r for regions in _data().values() for r in regions})


def partitions() -> dict[str, list[str]]:
    return {name: list(regions) for name, regions in _data().items()}


def arn_partitions() -> list[str]:
    """Every AWS partition an ARN may name (aws, aws-cn, aws-us-gov, aws-iso, ...)."""
    return list(_json()["arnPartitions"])


def partition_of(region: str) -> str | None:
    """The partition `region` belongs to (its ARNs start arn:PARTITION:); None if unknown."""
    return next((name for name, regions in _data().items() if region in regions), None)
