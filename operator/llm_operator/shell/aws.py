"""The AWS transport: every call of the operator to SageMaker, Application Auto Scaling
and CloudWatch goes through here (clients, rate limits, lanes, error classification).

It knows how to send a call and what its failure means, nothing about which calls
are safe to send: the ownership guards that run before every write live in
`shell.execute`, kept apart so the transport stays free of ownership rules and the
executor free of plumbing.

boto3 is synchronous, so calls run in a bounded thread pool and kopf's event
loop never blocks. Each HTTP attempt (botocore's standard-mode retries
included) first takes a token from a bucket shared per account and region, so
one replica with a thousand endpoints stays under SageMaker's throttling.
Calls run in one of two lanes: "interactive" (actions, inventory refreshes,
passes of a resource that is changing) and "background" (the periodic
re-checks of settled resources). Background calls hold at most half the
workers and never take a token while an interactive call waits for one, so a
spec change does not queue behind a thousand routine Describes.
Credentials, region and endpoint overrides (`AWS_ENDPOINT_URL_SAGEMAKER`) come
from the standard AWS environment.

Every call names a `Scope`: a region and the identity to act as (the operator's
own, or an IAM role it assumes for a namespace). Sessions, clients (of every
AWS service the operator uses), token buckets and metrics are per account and
region, so one throttled account does not slow the others. An assumed role's
session is cached and refreshed by botocore before it expires; a role that
cannot be assumed is remembered for `identity_retry_seconds`, so a namespace
with a broken role costs one AssumeRole per interval, not one per pass.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from llm_operator import __version__
from llm_operator.core.identity import Identity
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, CLOUDWATCH, SAGEMAKER
from llm_operator.shell import metrics
from llm_operator.shell.secrets import Redactor

Lane = Literal["interactive", "background"]
INTERACTIVE: Lane = "interactive"
BACKGROUND: Lane = "background"

# The rank of the LLMEndpoint being created whose pass makes the current calls (None:
# not one being created). Its interactive calls wait behind every unranked one (spec
# changes, what settled LLMEndpoints ask) and behind those of lower rank (created
# earlier), so what was started is finished before more is started: early endpoints
# become Ready first instead of everyone waiting for everyone.
CREATION_RANK: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "creation_rank", default=None
)

_NOT_FOUND = re.compile(r"^Could not find|does not exist|not found", re.IGNORECASE)
_EXISTS = re.compile(r"already exist", re.IGNORECASE)
_BUSY = re.compile(r"in-progress|in progress|is a base inference component", re.IGNORECASE)
# Seconds an assumed role's credentials last (botocore refreshes them 15 minutes early).
SESSION_SECONDS = 3600
SESSION_NAME = "sagemaker-llm-operator"

_RETRYABLE_CODES = {
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
}


class AwsError(Exception):
    """A failed SageMaker call, classified; the message is already scrubbed of secrets."""

    def __init__(
        self,
        operation: str,
        code: str,
        message: str,
        *,
        kind: str,
        retryable: bool,
        cause: str | None = None,
    ) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        # not_found | exists | busy | throttled | limit | conflict | invalid | unavailable
        # | identity (a role that cannot be assumed) | unreachable (no answer at all)
        self.kind = kind
        self.retryable = retryable
        # For "unreachable": timeout | connection refused | DNS | connection closed
        # | connection failed.
        self.cause = cause


@dataclass(frozen=True)
class Scope:
    """Where a call goes: a region, as the operator itself or as an assumed role."""

    region: str
    identity: Identity = field(default_factory=Identity)

    def __str__(self) -> str:
        role = self.identity.role_arn
        return f"{self.region} as {role}" if role else self.region


@dataclass(frozen=True)
class Pages:
    """What a paged List read: its items, how many calls, and whether it reached the end."""

    items: list[dict[str, Any]]
    count: int
    complete: bool


Where = Scope | str  # a bare region means the operator's own identity


def scope(where: Where) -> Scope:
    return where if isinstance(where, Scope) else Scope(where)


class AssumeRoleFailed(Exception):
    """STS refused (or could not be reached for) a role; the text names the role."""

    def __init__(self, role_arn: str, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"cannot assume role {role_arn}: {code}: {message}")
        self.role_arn = role_arn
        self.code = code
        self.message = message
        self.retryable = retryable


def classify(operation: str, exc: Exception, redact: Callable[[str], str]) -> AwsError:
    """Turns a botocore exception into an AwsError a planner and a person can act on."""
    if isinstance(exc, AssumeRoleFailed):
        return AwsError(
            "AssumeRole", "AssumeRoleFailed", redact(str(exc)), kind="identity", retryable=False
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = redact(str(error.get("Message", "")))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400) or 400)
        if code in ("ResourceNotFound", "ResourceNotFoundException", "ObjectNotFoundException") or (
            code == "ValidationException" and _NOT_FOUND.search(message)
        ):
            return AwsError(operation, code, message, kind="not_found", retryable=False)
        if _EXISTS.search(message):
            return AwsError(operation, code, message, kind="exists", retryable=False)
        if code == "ResourceInUse" or _BUSY.search(message):
            return AwsError(operation, code, message, kind="busy", retryable=True)
        if code in _RETRYABLE_CODES or status >= 500:
            kind = "throttled" if "hrottl" in code or "Limit" in code else "unavailable"
            return AwsError(operation, code, message, kind=kind, retryable=True)
        if code == "ResourceLimitExceeded":
            return AwsError(operation, code, message, kind="limit", retryable=False)
        return AwsError(operation, code, message, kind="invalid", retryable=False)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.NoRegionError):
        return AwsError(operation, type(exc).__name__, str(exc), kind="invalid", retryable=False)
    cause = unreachable_cause(exc)
    if cause is not None:
        # No answer at all (after botocore's retries): the network or the service is down.
        return AwsError(
            operation,
            type(exc).__name__,
            redact(str(exc)),
            kind="unreachable",
            retryable=True,
            cause=cause,
        )
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        # Connection failures, timeouts: the network, not the request.
        return AwsError(
            operation, type(exc).__name__, redact(str(exc)), kind="unavailable", retryable=True
        )
    raise exc


def unreachable_cause(exc: BaseException) -> str | None:
    """Why a call got no answer at all, in a person's words; None when it got one."""
    timeouts = (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)
    if isinstance(exc, timeouts):
        return "timeout"
    if isinstance(exc, botocore.exceptions.ConnectionClosedError):
        return "connection closed"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        error = exc.kwargs.get("error")
        text = str(error or exc)
        if isinstance(error, socket.gaierror) or "resolve" in text or "Name or service" in text:
            return "DNS"
        if "refused" in text.lower():
            return "connection refused"
        return "connection failed"
    if isinstance(exc, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError):
        return "connection failed"
    return None


def _tag_map(tags: Any) -> dict[str, str]:
    """Tags as a dict, from a Key/Value list (SageMaker, CloudWatch) or a map."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.get("Key")): str(t.get("Value")) for t in tags or ()}


class TokenBucket:
    """Blocking token bucket; waits happen in worker threads, never on the event loop.

    A background taker leaves the tokens to interactive takers while any waits.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()
        self._urgent = 0  # interactive takers waiting now

    def available(self) -> float:
        """Tokens in the bucket now: below 1, the next call waits."""
        with self._lock:
            elapsed = time.monotonic() - self._stamp
            return min(self.capacity, self._tokens + elapsed * self.rate)

    def acquire(self, lane: Lane = INTERACTIVE) -> float:
        """Takes one token, sleeping as needed; returns the seconds waited."""
        urgent = lane == INTERACTIVE
        waited = 0.0
        with self._lock:
            self._urgent += urgent
        try:
            while True:
                with self._lock:
                    now = time.monotonic()
                    self._tokens = min(
                        self.capacity, self._tokens + (now - self._stamp) * self.rate
                    )
                    self._stamp = now
                    if self._tokens >= 1.0 and (urgent or not self._urgent):
                        self._tokens -= 1.0
                        return waited
                    short = 1.0 - self._tokens if self._tokens < 1.0 else 0.5
                    pause = short / self.rate
                time.sleep(pause)
                waited += pause
        finally:
            with self._lock:
                self._urgent -= urgent


class Lanes:
    """Admits calls into the worker pool, interactive ones first.

    Background calls may hold at most `background_slots` of the `slots`, so an
    interactive call finds a free worker without waiting for the backlog.
    Lives on the event loop (no locking needed).
    """

    def __init__(self, slots: int, background_slots: int) -> None:
        self._free = slots
        self._background_free = background_slots
        self._waiting: dict[Lane, deque[asyncio.Future[None]]] = {
            INTERACTIVE: deque(),
            BACKGROUND: deque(),
        }
        # Interactive calls of LLMEndpoints being created: (rank, arrival, waiter),
        # admitted after the unranked interactive ones, lowest rank first.
        self._ranked: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    def waiting(self, lane: Lane) -> int:
        return len(self._waiting[lane]) + (len(self._ranked) if lane == INTERACTIVE else 0)

    def _may_enter(self, lane: Lane) -> bool:
        return self._free > 0 and (lane == INTERACTIVE or self._background_free > 0)

    def _enter(self, lane: Lane) -> None:
        self._free -= 1
        if lane == BACKGROUND:
            self._background_free -= 1

    async def acquire(self, lane: Lane) -> None:
        rank = CREATION_RANK.get() if lane == INTERACTIVE else None
        ahead = len(self._waiting[INTERACTIVE])
        if lane == BACKGROUND or rank is not None:
            ahead += len(self._ranked)
        if lane == BACKGROUND:
            ahead += len(self._waiting[BACKGROUND])
        if not ahead and self._may_enter(lane):
            self._enter(lane)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if rank is not None:
            heapq.heappush(self._ranked, (rank, next(self._arrivals), future))
        else:
            self._waiting[lane].append(future)
        self._dispatch()  # in case only cancelled waiters were ahead
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(lane)  # the slot was handed over just before the cancel
            elif future in self._waiting[lane]:
                self._waiting[lane].remove(future)
            else:
                self._ranked = [entry for entry in self._ranked if entry[2] is not future]
                heapq.heapify(self._ranked)
            raise

    def release(self, lane: Lane) -> None:
        self._free += 1
        if lane == BACKGROUND:
            self._background_free += 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Hands free slots to waiters: interactive ones first (the unranked, then the
        ranked by rank), then background ones."""
        queue = self._waiting[INTERACTIVE]
        while queue:
            if queue[0].done():
                queue.popleft()  # cancelled, its task not yet resumed
            elif self._may_enter(INTERACTIVE):
                self._enter(INTERACTIVE)
                queue.popleft().set_result(None)
            else:
                return
        while self._ranked:
            if self._ranked[0][2].done():
                heapq.heappop(self._ranked)
            elif self._may_enter(INTERACTIVE):
                self._enter(INTERACTIVE)
                heapq.heappop(self._ranked)[2].set_result(None)
            else:
                return
        queue = self._waiting[BACKGROUND]
        while queue:
            if queue[0].done():
                queue.popleft()
            elif self._may_enter(BACKGROUND):
                self._enter(BACKGROUND)
                queue.popleft().set_result(None)
            else:
                return


# How each service pages: the page-size member and its largest value.
_PAGE_SIZES = {
    SAGEMAKER: ("MaxResults", 100),
    APPLICATION_AUTOSCALING: ("MaxResults", 50),
    CLOUDWATCH: ("MaxRecords", 100),
}


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class SageMaker:
    """Async facade over boto3 clients, one per (identity, region, service)."""

    def __init__(
        self,
        *,
        workers: int = 16,
        calls_per_second: float = 10.0,
        burst: int = 20,
        max_attempts: int | None = None,
        session: boto3.session.Session | None = None,
        identity_retry_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aws")
        self._workers = workers
        # None: botocore's defaults (60 s each).
        self._timeouts = {
            key: value
            for key, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout))
            if value is not None
        }
        # (identity, region, service) -> when it last answered (anything, errors included).
        self._answered: dict[tuple[Identity, str, str], datetime] = {}
        self._rate = calls_per_second
        self._burst = burst
        self._max_attempts = max_attempts
        self._identity_retry = identity_retry_seconds
        self._clock = clock
        self._session = session or boto3.session.Session()
        self._sessions: dict[Identity, boto3.session.Session] = {}
        self._refused: dict[Identity, tuple[float, AssumeRoleFailed]] = {}
        self._clients: dict[tuple[Identity, str, str], Any] = {}
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()
        self._account: str | None = None
        self._lanes = Lanes(workers, max(1, workers // 2))
        self._thread_lane = threading.local()  # the lane of the call a worker runs

    # -- plumbing -----------------------------------------------------------------

    def _own_account_key(self) -> str:
        """The principal's access key stands for its account: no STS call needed."""
        if self._account is None:
            try:
                credentials = self._session.get_credentials()
                self._account = credentials.access_key if credentials is not None else "anonymous"
            except botocore.exceptions.BotoCoreError:
                self._account = "anonymous"
        return self._account

    def account_key(self, where: Where) -> str:
        """The account a scope acts in: the role's account, or our own access key."""
        return scope(where).identity.account or self._own_account_key()

    def bucket(self, where: Where, service: str = SAGEMAKER) -> TokenBucket:
        """The token bucket of one service's API in one account and region."""
        place = scope(where)
        key = (self.account_key(place), place.region, service)
        with self._lock:
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(self._rate, self._burst)
            return self._buckets[key]

    def _assume(self, identity: Identity, region: str) -> boto3.session.Session:
        """A session acting as `identity`'s role, refreshed by botocore before expiry."""
        sts = self._session.client(
            "sts", region_name=region, config=Config(retries={"mode": "standard"})
        )

        def fetch() -> dict[str, str]:
            request: dict[str, Any] = {
                "RoleArn": identity.role_arn,
                "RoleSessionName": SESSION_NAME,
                "DurationSeconds": SESSION_SECONDS,
            }
            if identity.external_id:
                request["ExternalId"] = identity.external_id
            try:
                credentials = sts.assume_role(**request)["Credentials"]
            except botocore.exceptions.ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", "Unknown"))
                raise AssumeRoleFailed(
                    identity.role_arn,
                    code,
                    str(error.get("Message", "")),
                    retryable=code in _RETRYABLE_CODES,
                ) from None
            except botocore.exceptions.BotoCoreError as exc:
                raise AssumeRoleFailed(
                    identity.role_arn, type(exc).__name__, str(exc), retryable=True
                ) from None
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat(),
            }

        refreshable = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        core = botocore.session.get_session()
        # One loader for every identity: each session would otherwise load its own copy
        # of every service model (about 17 MiB for SageMaker's) into memory.
        core.register_component("data_loader", self._session._session.get_component("data_loader"))
        core._credentials = refreshable  # the documented way to give a session refreshable keys
        return boto3.session.Session(botocore_session=core, region_name=region)

    def session(self, where: Where) -> boto3.session.Session:
        """The session for a scope's identity (blocking: may call STS once).

        Raises AssumeRoleFailed, also for `identity_retry_seconds` after a refusal.
        """
        place = scope(where)
        identity = place.identity
        if not identity.role_arn:
            return self._session
        with self._lock:
            found = self._sessions.get(identity)
            refused = self._refused.get(identity)
        if found is not None:
            return found
        if refused is not None and self._clock() - refused[0] < self._identity_retry:
            raise refused[1]
        try:
            made = self._assume(identity, place.region)
        except AssumeRoleFailed as failure:
            with self._lock:
                self._refused[identity] = (self._clock(), failure)
            raise
        with self._lock:
            self._refused.pop(identity, None)
            return self._sessions.setdefault(identity, made)

    async def prepare(self, where: Where) -> None:
        """Makes sure the scope's identity can be used (assumes its role once, off the loop).

        Raises AwsError (kind "identity", message naming the role) when it cannot.
        """
        place = scope(where)
        if not place.identity.role_arn:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self.session, place)
        except AssumeRoleFailed as failure:
            raise classify("AssumeRole", failure, str) from None

    def forget(self, where: Where) -> None:
        """Drops a scope's session and clients, e.g. after its credentials stopped working."""
        identity = scope(where).identity
        if not identity.role_arn:
            return
        with self._lock:
            self._sessions.pop(identity, None)
            for key in [k for k in self._clients if k[0] == identity]:
                del self._clients[key]

    def client(self, where: Where, service: str = SAGEMAKER) -> Any:
        """The scope's client of `service` (SageMaker, or CloudWatch for the rollback
        alarms; boto3 clients are thread-safe; sessions are not).

        Every AWS service the operator calls gets its client here, so each one is per
        identity and region and takes its tokens from that account's bucket.
        """
        place = scope(where)
        key = (place.identity, place.region, service)
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                return found
        session = self.session(place)
        retries: dict[str, Any] = {"mode": "standard"}
        if self._max_attempts is not None:
            retries["max_attempts"] = self._max_attempts
        config = Config(
            retries=retries,
            max_pool_connections=self._workers,
            user_agent_extra=f"sagemaker-llm-operator/{__version__}",
            **self._timeouts,
        )
        with self._lock:
            created = session.client(service, region_name=place.region, config=config)
        bucket = self.bucket(place, service)
        lanes = self._thread_lane

        def take_token(**_: Any) -> None:
            bucket.acquire(getattr(lanes, "lane", INTERACTIVE))

        created.meta.events.register(
            f"before-send.{created.meta.service_model.service_id.hyphenize()}", take_token
        )
        with self._lock:
            return self._clients.setdefault(key, created)

    def _call_blocking(
        self,
        where: Where,
        operation: str,
        kwargs: Mapping[str, Any],
        redact: Redactor,
        lane: Lane,
        service: str = SAGEMAKER,
    ) -> dict[str, Any]:
        place = scope(where)
        account = place.identity.account or "self"  # never an access key in a label
        self._thread_lane.lane = lane
        started = time.monotonic()
        try:
            method = getattr(self.client(place, service), _snake(operation))
            response: dict[str, Any] = method(**kwargs)
        except Exception as exc:
            error = classify(operation, exc, redact)
            seconds = time.monotonic() - started
            metrics.record_aws_call(operation, error.code, seconds, account, place.region)
            if isinstance(exc, botocore.exceptions.ClientError):
                self._answered[(place.identity, place.region, service)] = datetime.now(UTC)
            raise error from None
        seconds = time.monotonic() - started
        metrics.record_aws_call(operation, "ok", seconds, account, place.region)
        self._answered[(place.identity, place.region, service)] = datetime.now(UTC)
        return response

    def last_answer(self, where: Where, service: str = SAGEMAKER) -> datetime | None:
        """When `service` last answered a call in this scope (an error is an answer too);
        None if it never did since the operator started."""
        place = scope(where)
        return self._answered.get((place.identity, place.region, service))

    async def call(
        self,
        where: Where,
        operation: str,
        request: Mapping[str, Any] | None = None,
        *,
        redact: Redactor | None = None,
        lane: Lane = INTERACTIVE,
        service: str = SAGEMAKER,
    ) -> dict[str, Any]:
        """One API call by its AWS name (e.g. "DescribeEndpoint") off the loop."""
        loop = asyncio.get_running_loop()
        await self._lanes.acquire(lane)
        try:
            return await loop.run_in_executor(
                self._pool,
                self._call_blocking,
                where,
                operation,
                dict(request or {}),
                redact or Redactor(),
                lane,
                service,
            )
        finally:
            self._lanes.release(lane)

    async def list_all(
        self,
        where: Where,
        operation: str,
        key: str,
        lane: Lane = INTERACTIVE,
        *,
        service: str = SAGEMAKER,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Every page of a List*/Describe* call (one rate-limited call per page)."""
        return (await self.list_pages(where, operation, key, lane, service=service, **kwargs)).items

    async def list_pages(
        self,
        where: Where,
        operation: str,
        key: str,
        lane: Lane = INTERACTIVE,
        *,
        service: str = SAGEMAKER,
        max_pages: int | None = None,
        **kwargs: Any,
    ) -> Pages:
        """The pages of a List* call, stopping after `max_pages` (None: every page), so a
        caller can find out whether a listing is cheaper than its alternative."""
        size_member, size = _PAGE_SIZES.get(service, ("MaxResults", 100))
        items: list[dict[str, Any]] = []
        token: str | None = None
        pages = 0
        while True:
            page_args = dict(kwargs, **{size_member: size})
            if token:
                page_args["NextToken"] = token
            page = await self.call(where, operation, page_args, lane=lane, service=service)
            pages += 1
            items.extend(page.get(key, []))
            previous, token = token, page.get("NextToken")
            if not token:
                return Pages(items, pages, complete=True)
            if token == previous:
                # A service that hands back the token it was given would page forever.
                raise AwsError(
                    operation,
                    "PaginationLoop",
                    f"the service returned the same NextToken twice ({len(items)} items so far)",
                    kind="unavailable",
                    retryable=True,
                )
            if max_pages is not None and pages >= max_pages:
                return Pages(items, pages, complete=False)

    async def tags(
        self, where: Where, arn: str, lane: Lane = INTERACTIVE, *, service: str = SAGEMAKER
    ) -> dict[str, str]:
        """Every tag of a resource by ARN: SageMaker's ListTags (paged), or the
        ListTagsForResource of Application Auto Scaling (a map) or CloudWatch (a list)."""
        if service != SAGEMAKER:
            page = await self.call(
                where, "ListTagsForResource", {"ResourceARN": arn}, lane=lane, service=service
            )
            return _tag_map(page.get("Tags"))
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            args: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
            if token:
                args["NextToken"] = token
            page = await self.call(where, "ListTags", args, lane=lane)
            found.update(_tag_map(page.get("Tags")))
            token = page.get("NextToken")
            if not token:
                return found

    async def alarm_owner(
        self, where: Where, name: str, lane: Lane = INTERACTIVE
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """A CloudWatch alarm (DescribeAlarms) and its tags; (None, {}) when there is none."""
        found = await self.call(
            where, "DescribeAlarms", {"AlarmNames": [name]}, lane=lane, service=CLOUDWATCH
        )
        alarms = found.get("MetricAlarms") or []
        if not alarms:
            return None, {}
        alarm: dict[str, Any] = alarms[0]
        return alarm, await self.tags(where, alarm["AlarmArn"], lane, service=CLOUDWATCH)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
