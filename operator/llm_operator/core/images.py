"""Hugging Face TGI container image URIs by region and version.

Does what the SageMaker SDK's `get_huggingface_llm_image_uri` does, from our own
data table (`images.json`) so the operator needs neither the SDK nor network
access to pick an image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


class ImageLookupError(ValueError):
    """The region or TGI version is not in the operator's image table."""


@dataclass(frozen=True)
class ImageTable:
    repository: str
    default: str
    versions: dict[str, str]  # TGI version -> image tag
    aliases: dict[str, str]  # "3.3" -> "3.3.6"
    registries: dict[str, str]  # region -> ECR account


@cache
def load() -> ImageTable:
    text = resources.files(__package__).joinpath("images.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return ImageTable(
        repository=raw["repository"],
        default=raw["default"],
        versions=dict(raw["versions"]),
        aliases=dict(raw["aliases"]),
        registries=dict(raw["registries"]),
    )


def versions() -> list[str]:
    """Known TGI versions, oldest first."""
    return sorted(load().versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def regions() -> list[str]:
    return sorted(load().registries)


def resolve_version(version: str | None) -> str:
    """The full TGI version for `version` (None: the newest; "3.3": its newest patch)."""
    table = load()
    if version is None or version == "":
        return table.default
    full = table.aliases.get(version, version)
    if full not in table.versions:
        raise ImageLookupError(
            f"unknown TGI version {version!r}; known versions: {', '.join(versions())}"
        )
    return full


def _dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def tgi_image_uri(region: str, version: str | None = None) -> str:
    """ECR URI of the TGI container for `region`; the newest version by default."""
    table = load()
    account = table.registries.get(region)
    if account is None:
        raise ImageLookupError(
            f"no Hugging Face TGI image is known for region {region!r}; "
            "set spec.model.image to an image URI you can pull there"
        )
    tag = table.versions[resolve_version(version)]
    return f"{account}.dkr.ecr.{region}.{_dns_suffix(region)}/{table.repository}:{tag}"
