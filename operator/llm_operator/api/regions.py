"""Regions where SageMaker exists, so a typo in `aws.region` is refused at apply time.

The list is data (`regions.json`, taken from botocore's endpoint data for the
locked botocore version) rather than an import of botocore: the API package
stays free of AWS SDKs, and the CRD is the same on every machine.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def _data() -> dict[str, list[str]]:
    text = resources.files(__package__).joinpath("regions.json").read_text(encoding="utf-8")
    partitions: dict[str, list[str]] = json.loads(text)["partitions"]
    return partitions


def sagemaker_regions() -> list[str]:
    """Every region of every partition that has SageMaker, sorted."""
    return sorted({r for regions in _data().values() for r in regions})


def partitions() -> dict[str, list[str]]:
    return {name: list(regions) for name, regions in _data().items()}
