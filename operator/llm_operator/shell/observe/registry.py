"""The SageMaker model registry as spec.model.modelPackage reads it, shared by every
LLMEndpoint of a replica (and by `llm-operator plan`, read-only like the operator).

One ListModelPackages of a group's Approved versions (newest first) per scope and group
per resync interval, whoever asks: concurrent callers share one refresh (single
flight), like the SageMaker inventory. DescribeModelPackage is cached by ARN: a package
never changes but for its approval, so it is described again only when the listing
contradicts the approval it recorded. A throttled or failed List raises (the pass backs
off and tries again later); nothing is decided from a listing not read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from llm_operator.core import registry
from llm_operator.core.render import Parsed
from llm_operator.shell.aws import AwsError, SageMaker, Scope
from llm_operator.shell.observe.inventory import SingleFlight

# Describes kept per replica; a package is small, and few are served at once.
MAX_DESCRIBED = 4096


@dataclass
class _Taken:
    taken_at: float
    listing: registry.Listing


class Registry:
    """Listings per (scope, group) and Describes per (scope, ARN)."""

    def __init__(
        self,
        sagemaker: SageMaker,
        *,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sagemaker = sagemaker
        self.max_age = max_age
        self.clock = clock
        self._listings: dict[tuple[Scope, str], SingleFlight[_Taken]] = {}
        self._described: dict[tuple[Scope, str], registry.Package] = {}
        # One Describe in flight per package: concurrent first passes wait for it.
        self._describing: dict[tuple[Scope, str], asyncio.Future[registry.Package]] = {}

    async def listing(self, place: Scope, group: str) -> registry.Listing:
        """The group's Approved versions, at most one resync interval old."""
        flight = self._listings.setdefault((place, group), SingleFlight())

        async def refresh() -> _Taken:
            taken_at = self.clock()
            summaries = await self.sagemaker.list_all(
                place,
                "ListModelPackages",
                "ModelPackageSummaryList",
                ModelPackageGroupName=group,
                ModelApprovalStatus=registry.APPROVED,
                SortBy="CreationTime",
                SortOrder="Descending",
            )
            return _Taken(taken_at, registry.listing(group, summaries))

        return (await flight.get(self.clock(), self.max_age, refresh)).listing

    async def describe(
        self, place: Scope, arn: str, listed: registry.Listing | None
    ) -> registry.Package:
        """The package, described once; again when the listing says its approval moved."""
        key = (place, arn)
        cached = self._described.get(key)
        if cached is not None and listed is not None:
            approved_now = listed.find(arn) is not None
            if approved_now != (cached.approval == registry.APPROVED):
                cached = None
        if cached is not None:
            return cached
        pending = self._describing.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[registry.Package] = asyncio.get_running_loop().create_future()
        self._describing[key] = future
        try:
            answer = await self.sagemaker.call(
                place, "DescribeModelPackage", {"ModelPackageName": arn}
            )
            described = registry.package(answer)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            self._describing.pop(key, None)
        future.set_result(described)
        if len(self._described) >= MAX_DESCRIBED:
            self._described.pop(next(iter(self._described)))
        self._described[key] = described
        return described

    async def read(self, place: Scope, parsed: Parsed) -> registry.Read:
        """What rendering `parsed` needs of the registry: the choice and its package."""
        spec = parsed.spec
        assert spec is not None and spec.model.model_package is not None
        group = spec.model.model_package.group
        found = await self.listing(place, group) if group is not None else None
        choice = parsed.choose(found)
        if choice.arn is None:
            return registry.Read(choice, found)
        try:
            package = await self.describe(place, choice.arn, found)
        except AwsError as error:
            if error.retryable:
                raise
            return registry.Read(choice, found, unavailable=error.message)
        return registry.Read(choice, found, package)
