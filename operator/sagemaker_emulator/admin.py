"""A typed client for the emulator's /_emulator/ admin API, for tests and benchmarks."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, TypedDict, cast

KINDS = ("models", "endpoint_configs", "endpoints", "inference_components")


class AdminError(RuntimeError):
    pass


class CallRecord(TypedDict):
    """One API call in the emulator's call log."""

    seq: int  # 1, 2, ... since the last reset
    time: float  # when the call arrived, epoch seconds
    operation: str  # e.g. "DeleteEndpoint", "InvokeEndpoint"
    user_agent: str | None  # the User-Agent header (botocore appends user_agent_extra)
    account: str
    region: str
    status: int  # HTTP status of the answer
    error: str | None  # AWS error code, None on success
    write: bool  # a Create/Update/Delete/AddTags/DeleteTags call naming one resource
    resource_arn: str | None  # write calls: the resource named
    # write calls: that resource's tags when the call arrived; None if it did not exist
    tags: dict[str, str] | None


class Load(TypedDict, total=False):
    """A simulated load level: on a component, or on a variant of an endpoint."""

    account: str
    region: str
    inference_component: str
    endpoint: str
    variant: str
    concurrent_requests: float
    invocations_per_minute: float


class AdminClient:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(
        self,
        method: str,
        route: str,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AdminError(
                f"{method} /_emulator/{route}: {error.code} {error.read().decode()}"
            ) from None

    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def state(self) -> dict[str, Any]:
        """All state: {"accounts": {account: {region: {kind: {name: record}}}}, "pending": [..]}"""
        result: dict[str, Any] = self._call("GET", "state")
        return result

    def resource_names(
        self, account: str = "123456789012", region: str = "us-east-1"
    ) -> dict[str, list[str]]:
        """Names of every resource kind in one account and region; all empty: nothing left."""
        tables = self.state()["accounts"].get(account, {}).get(region, {})
        return {kind: sorted(tables.get(kind, {})) for kind in KINDS}

    def calls(self) -> dict[str, int]:
        """API calls counted per operation (including throttled and failed ones)."""
        result: dict[str, int] = self._call("GET", "calls")["operations"]
        return result

    def emulator_errors(self) -> int:
        """Requests that hit a bug in the emulator (answered InternalFailure); should be 0."""
        result: int = self._call("GET", "calls")["emulator_errors"]
        return result

    def call_log(
        self,
        *,
        since: int = 0,
        operation: str | None = None,
        user_agent: str | None = None,
    ) -> list[CallRecord]:
        """Calls recorded after seq `since`, oldest first; `user_agent` matches a substring.

        The log keeps the newest 100000 calls since the last reset.
        """
        query = {
            key: value
            for key, value in {
                "since": str(since),
                "operation": operation,
                "user_agent": user_agent,
            }.items()
            if value is not None
        }
        answer = self._call("GET", f"calls/log?{urllib.parse.urlencode(query)}")
        return cast(list[CallRecord], answer["calls"])

    def reset(self, delay: float | None = None) -> None:
        """Forget everything; with `delay`, that is the start-up delay from now on."""
        self._call("POST", "reset", {} if delay is None else {"delay": delay})

    def faults(
        self,
        *,
        throttle_rate: float | None = None,
        internal_error_rate: float | None = None,
        latency_seconds: float | None = None,
        operations: list[str] | None = None,
        fail_next: list[dict[str, str]] | None = None,
        stuck: list[dict[str, str]] | None = None,
        instance_limits: dict[str, int] | None = None,
        seed: int | None = None,
        hold_streams: bool | None = None,
    ) -> dict[str, Any]:
        """Add faults; fail_next / stuck items: {"resource": kind, "name": opt, "reason": ...}."""
        body: dict[str, Any] = {
            key: value
            for key, value in {
                "throttle_rate": throttle_rate,
                "internal_error_rate": internal_error_rate,
                "latency_seconds": latency_seconds,
                "operations": operations,
                "fail_next": fail_next,
                "stuck": stuck,
                "instance_limits": instance_limits,
                "seed": seed,
                "hold_streams": hold_streams,
            }.items()
            if value is not None
        }
        result: dict[str, Any] = self._call("POST", "faults", body)
        return result

    def clear_faults(self) -> None:
        """Remove every fault; resources held in Creating by a stuck fault resume."""
        self._call("DELETE", "faults")

    def settle(self, once: bool = False) -> int:
        """Complete every pending transition now (with `once`, not those they start)."""
        result: int = self._call("POST", "settle", {"once": once})["completed"]
        return result

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until nothing is transitioning (stuck resources aside); False on timeout."""
        result: bool = self._call("POST", "wait", {"timeout": timeout}, timeout=timeout + 10)[
            "settled"
        ]
        return result

    def pending(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.state()["pending"]
        return result

    def set_delay(self, seconds: float) -> None:
        self._call("POST", "delay", {"delay": seconds})

    def set_token_time(self, seconds: float | None) -> float:
        """Seconds between generated tokens (None: AWS's, scaled by the delay); the pace now."""
        answer = self._call("POST", "token-time", {"token_time": seconds})
        return float(answer["seconds_per_token"])

    def set_cold_start(self, seconds: float | None) -> float:
        """Seconds a serverless cold start takes (None: AWS's, scaled by the delay); the
        cold start in force now."""
        answer = self._call("POST", "cold-start", {"cold_start": seconds})
        return float(answer["seconds"])

    def cold_starts(self) -> dict[str, int]:
        """Cold starts per serverless endpoint name, since it was created."""
        answer = self._call("GET", "cold-start")
        return {str(k): int(v) for k, v in answer["counts"].items()}

    def set_load(
        self,
        *,
        inference_component: str | None = None,
        endpoint: str | None = None,
        variant: str | None = None,
        concurrent_requests: float | None = None,
        invocations_per_minute: float | None = None,
        account: str = "123456789012",
        region: str = "us-east-1",
    ) -> Load:
        """Simulate steady traffic on a component (or an endpoint's variant) from now on.

        Values left out keep their current level (0 at first). InvokeEndpoint calls add to it.
        """
        body: dict[str, Any] = {
            key: value
            for key, value in {
                "inference_component": inference_component,
                "endpoint": endpoint,
                "variant": variant,
                "concurrent_requests": concurrent_requests,
                "invocations_per_minute": invocations_per_minute,
                "account": account,
                "region": region,
            }.items()
            if value is not None
        }
        return cast(Load, self._call("POST", "load", body))

    def seed_marketplace_package(
        self,
        *,
        image: str,
        supported_realtime_instance_types: list[str],
        name: str | None = None,
        arn: str | None = None,
        region: str = "us-east-1",
        account: str = "865070037744",
        environment: dict[str, str] | None = None,
        model_data_url: str | None = None,
        network_isolation_required: bool = True,
        certify_for_marketplace: bool = True,
        description: str | None = None,
        supported_transform_instance_types: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register an AWS Marketplace model package (in the seller's `account`) that any
        account of `region` can describe and deploy by its ARN; answers DescribeModelPackage's
        members (ModelPackageArn among them). Give `name` (with `region`, `account`) or `arn`.
        A reset forgets it."""
        body: dict[str, Any] = {
            key: value
            for key, value in {
                "name": name,
                "arn": arn,
                "region": region,
                "account": account,
                "image": image,
                "environment": environment,
                "model_data_url": model_data_url,
                "supported_realtime_instance_types": supported_realtime_instance_types,
                "supported_transform_instance_types": supported_transform_instance_types,
                "network_isolation_required": network_isolation_required,
                "certify_for_marketplace": certify_for_marketplace,
                "description": description,
            }.items()
            if value is not None
        }
        result: dict[str, Any] = self._call("POST", "marketplace/model-packages", body)
        return result

    def model_packages(
        self, account: str = "123456789012", region: str = "us-east-1"
    ) -> dict[str, list[str]]:
        """Names of the model package groups and model packages (GROUP/VERSION for versions)
        in one account and region."""
        tables = self.state()["accounts"].get(account, {}).get(region, {})
        return {
            kind: sorted(tables.get(kind, {}))
            for kind in ("model_package_groups", "model_packages")
        }

    def loads(self) -> list[Load]:
        """Every load level set so far."""
        return cast(list[Load], self._call("GET", "load")["loads"])
