"""Container image URIs by engine, accelerator kind, region and version.

Does what the SageMaker SDK's `image_uris.retrieve` does for the operator's
engines, from our own data table (`images.json`, generated from the SDK's
image_uri_config files by scripts/image_table.py) so the operator needs neither
the SDK nor network access to pick an image. "gpu" images serve GPU and CPU
instance types; "neuron" images serve Inferentia2 and Trainium; "cpu" images (TEI's)
serve CPU instance types and serverless endpoints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from llm_operator.api.engines import TITLES, Engine

Kind = Literal["gpu", "neuron", "cpu"]


class ImageLookupError(ValueError):
    """No image in the operator's table for this engine, kind, region or version."""


@dataclass(frozen=True)
class Family:
    """One image family: a repository and its tags, from one SDK file (`source`)."""

    source: str
    repository: str
    default: str
    versions: dict[str, str]  # version -> image tag
    aliases: dict[str, str]  # "3.3" -> "3.3.6"
    registries: dict[str, str]  # region -> ECR account
    missing_regions: dict[str, frozenset[str]]  # version -> regions without that tag


@dataclass(frozen=True)
class Unavailable:
    """The engine has no image of this kind the operator can vouch for, and why."""

    reason: str


def _family(raw: dict[str, Any]) -> Family | Unavailable:
    if "unavailable" in raw:
        return Unavailable(raw["unavailable"])
    return Family(
        source=raw["source"],
        repository=raw["repository"],
        default=raw["default"],
        versions={v: info["tag"] for v, info in raw["versions"].items()},
        aliases=dict(raw["aliases"]),
        registries=dict(raw["registries"]),
        missing_regions={
            v: frozenset(info.get("missingRegions", [])) for v, info in raw["versions"].items()
        },
    )


@cache
def _table() -> dict[tuple[str, str], Family | Unavailable]:
    text = resources.files(__package__).joinpath("images.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return {
        (engine, kind): _family(entry)
        for engine, kinds in raw["engines"].items()
        for kind, entry in kinds.items()
    }


def family(engine: Engine, kind: Kind = "gpu") -> Family | Unavailable:
    return _table().get((engine, kind)) or Unavailable(
        f"the operator's image table has no {kind} image for engine {engine}"
    )


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def versions(engine: Engine = "tgi", kind: Kind = "gpu") -> list[str]:
    """Known versions of `engine`'s image of `kind`, oldest first."""
    found = family(engine, kind)
    return [] if isinstance(found, Unavailable) else sorted(found.versions, key=_key)


def regions(engine: Engine = "tgi", kind: Kind = "gpu") -> list[str]:
    found = family(engine, kind)
    return [] if isinstance(found, Unavailable) else sorted(found.registries)


def resolve_version(version: str | None, engine: Engine = "tgi", kind: Kind = "gpu") -> str:
    """The full version for `version` (None: the newest; "3.3": its newest patch)."""
    found = family(engine, kind)
    if isinstance(found, Unavailable):
        raise ImageLookupError(found.reason)
    if version is None or version == "":
        return found.default
    full = found.aliases.get(version, version)
    if full not in found.versions:
        raise ImageLookupError(
            f"unknown {engine} {kind} image version {version!r}; known versions: "
            + ", ".join(versions(engine, kind))
        )
    return full


def _dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def image_uri(engine: Engine, region: str, version: str | None = None, kind: Kind = "gpu") -> str:
    """ECR URI of `engine`'s container of `kind` for `region`; the newest version by default."""
    found = family(engine, kind)
    what = TITLES[engine] + {"neuron": " Neuron", "cpu": " CPU", "gpu": ""}[kind]
    if isinstance(found, Unavailable):
        raise ImageLookupError(
            f"no {what} image is known to the operator ({found.reason}): set "
            "spec.model.image to an image URI you can pull, or pick another engine"
        )
    account = found.registries.get(region)
    if account is None:
        raise ImageLookupError(
            f"no {what} image is known for region {region!r}; set spec.model.image to an "
            "image URI you can pull there"
        )
    if version is None or version == "":
        # Unset: the newest version published in this region.
        published = [v for v in versions(engine, kind) if region not in found.missing_regions[v]]
        if not published:
            raise ImageLookupError(f"no {what} image is published in region {region!r}")
        version = published[-1]
    full = resolve_version(version, engine, kind)
    if region in found.missing_regions.get(full, frozenset()):
        raise ImageLookupError(
            f"the {what} image {full} is not published in region {region!r}; pick another "
            "model.engineVersion or set spec.model.image"
        )
    tag = found.versions[full]
    return f"{account}.dkr.ecr.{region}.{_dns_suffix(region)}/{found.repository}:{tag}"


def tgi_image_uri(region: str, version: str | None = None) -> str:
    """ECR URI of the GPU TGI container for `region` (the operator's first engine)."""
    return image_uri("tgi", region, version)
