"""Instance types as data: what one instance offers to inference component copies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import botocore.session


@dataclass(frozen=True)
class InstanceType:
    name: str
    accelerators: int
    accelerator_memory_gib: int
    vcpus: int
    memory_gib: int

    @property
    def memory_mb(self) -> int:
        return self.memory_gib * 1024


# Types SageMaker accepts but the catalog does not list are treated as small CPU hosts.
_FALLBACK = (0, 0, 4, 16)


@cache
def _table() -> dict[str, InstanceType]:
    raw = json.loads(resources.files(__package__).joinpath("catalog.json").read_text())
    return {
        name: InstanceType(
            name,
            spec["accelerators"],
            spec["accelerator_memory_gib"],
            spec["vcpus"],
            spec["memory_gib"],
        )
        for name, spec in raw["instance_types"].items()
    }


def instance_type(name: str) -> InstanceType:
    found = _table().get(name)
    return found if found is not None else InstanceType(name, *_FALLBACK)


def known(name: str) -> bool:
    return name in _table()


@cache
def service_model(service: str = "sagemaker") -> Any:
    """botocore's model of a service: every request's shape (validation.py) and the
    instance types SageMaker accepts."""
    return botocore.session.get_session().get_service_model(service)


def sagemaker_instance_types() -> list[str]:
    """Every instance type a SageMaker production variant accepts."""
    types: list[str] = service_model().shape_for("ProductionVariantInstanceType").enum
    return types
