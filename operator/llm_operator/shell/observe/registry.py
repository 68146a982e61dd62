"""The SageMaker model registry as spec.model.modelPackage reads it, shared by every
LLMEndpoint of a replica (and by `llm-operator plan`, read-only like the operator).

Each group's Approved versions (newest first), at most one resync interval old, whoever
asks: concurrent callers share one refresh (single flight), like the SageMaker
inventory. Per scope, whichever costs fewer calls: one ListModelPackages per group in
use, or one paged listing of every Approved versioned package in the account, filed by
group. The account-wide listing is probed once the groups in use are known (one
interval of asking), stopping after as many pages as there are groups; one that does
not end by then is dearer, and is tried again only every REPROBE_INTERVALS. A group
named by an ARN of another account is always listed on its own.

DescribeModelPackage is cached by ARN: a package never changes but for its approval, so
it is described again only when the listing contradicts the approval it recorded. A
throttled or failed List raises (the pass backs off and tries again later); nothing is
decided from a listing not read, nor which listing is cheaper.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_operator.core import registry
from llm_operator.core.render import Parsed
from llm_operator.shell.aws import AwsError, SageMaker, Scope
from llm_operator.shell.observe.inventory import SingleFlight

# Describes kept per replica; a package is small, and few are served at once.
MAX_DESCRIBED = 4096
# Resync intervals between probes of an account-wide listing found dearer than listing
# each group: an account's registry grows slowly, and a probe costs up to a listing of
# every group in use.
REPROBE_INTERVALS = 60
# A group counts as in use while asked for within this many intervals (one, with room
# for passes that come a little later than their interval).
IN_USE_INTERVALS = 2


@dataclass
class _Taken:
    taken_at: float
    listing: registry.Listing


@dataclass
class _Wide:
    """One listing of the account's Approved versions, filed by group; `complete` False:
    it stopped at its page cap (the per-group listings are cheaper)."""

    taken_at: float
    complete: bool
    groups: dict[str, list[Mapping[str, Any]]]


@dataclass
class _Account:
    """What decides, for one scope, whether to list the account or each group."""

    account: str | None  # the scope's account; None until known
    first_asked: float
    asked: dict[str, float] = field(default_factory=dict)  # group key -> last asked
    wide: SingleFlight[_Wide] = field(default_factory=SingleFlight)
    pages: int | None = None  # the last complete account-wide listing's calls
    probe_after: float = 0.0  # no account-wide listing before (it was dearer)


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
        self._accounts: dict[Scope, _Account] = {}
        self._described: dict[tuple[Scope, str], registry.Package] = {}
        # One Describe in flight per package: concurrent first passes wait for it.
        self._describing: dict[tuple[Scope, str], asyncio.Future[registry.Package]] = {}

    async def listing(self, place: Scope, group: str) -> registry.Listing:
        """The group's Approved versions, at most one resync interval old."""
        now = self.clock()
        account = self._accounts.get(place)
        if account is None:
            account = self._accounts[place] = _Account(place.identity.account, now)
        key = registry.group_key(group, account=account.account, region=place.region)
        if key is not None:
            account.asked[key] = now
            if self._wide_is_cheaper(account, now):
                wide = await account.wide.get(
                    now, self.max_age, lambda: self._list_account(place, account)
                )
                if wide.complete:
                    return registry.listing(group, wide.groups.get(key, ()))
        return await self._list_group(place, group, account)

    def _in_use(self, account: _Account, now: float) -> int:
        """Groups asked for lately (each would cost a List of its own)."""
        since = now - IN_USE_INTERVALS * self.max_age
        for key in [k for k, at in account.asked.items() if at <= since]:
            del account.asked[key]
        return len(account.asked)

    def _wide_is_cheaper(self, account: _Account, now: float) -> bool:
        current = account.wide.value
        if current is not None and current.taken_at > now - self.max_age:
            return current.complete  # read this interval already: free
        in_use = self._in_use(account, now)
        if account.pages is not None:
            if account.pages <= in_use:
                return True
            # Fewer groups in use than its pages now: per group, probed again later.
            account.pages = None
            account.probe_after = now + REPROBE_INTERVALS * self.max_age
            return False
        # Probed once the groups in use are known (an interval of asking), then rarely.
        return now >= account.probe_after and account.first_asked <= now - self.max_age

    async def _list_account(self, place: Scope, account: _Account) -> _Wide:
        taken_at = self.clock()
        cap = max(1, self._in_use(account, taken_at))
        pages = await self.sagemaker.list_pages(
            place,
            "ListModelPackages",
            "ModelPackageSummaryList",
            max_pages=cap,
            ModelPackageType="Versioned",
            ModelApprovalStatus=registry.APPROVED,
            SortBy="CreationTime",
            SortOrder="Descending",
        )
        if pages.complete:
            account.pages = pages.count
            self._learn_account(account, pages.items)
        else:
            account.pages = None
            account.probe_after = taken_at + REPROBE_INTERVALS * self.max_age
        return _Wide(taken_at, pages.complete, registry.by_group(pages.items))

    async def _list_group(self, place: Scope, group: str, account: _Account) -> registry.Listing:
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
            if registry.group_key(group, account=None, region=place.region) is not None:
                self._learn_account(account, summaries)  # a group by name: the caller's
            return _Taken(taken_at, registry.listing(group, summaries))

        return (await flight.get(self.clock(), self.max_age, refresh)).listing

    @staticmethod
    def _learn_account(account: _Account, summaries: list[dict[str, Any]]) -> None:
        """The operator's own account, from the ARNs of its own versions (a group named
        by an ARN of it may then be read from the account-wide listing)."""
        if account.account is None and summaries:
            account.account = registry.account_of(str(summaries[0].get("ModelPackageArn"))) or None

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
