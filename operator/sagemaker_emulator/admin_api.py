"""The /_emulator/ admin API (a path SageMaker never uses): state, calls, reset, faults, time."""

from __future__ import annotations

import re
import time
from typing import Any

from .caller import DEFAULT_ACCOUNT, DEFAULT_REGION, Caller
from .catalog import sagemaker_instance_types
from .faults import Faults, parse_faults
from .load import Target
from .pacing import seconds_per_token
from .resources.model_packages import MARKETPLACE_ACCOUNT, seed_marketplace_package
from .serverless import cold_start_seconds
from .state import Store, public

PREFIX = "/_emulator/"
DEFAULT_WAIT_TIMEOUT = 30.0


class AdminError(Exception):
    pass


def handle(store: Store, method: str, path: str, body: Any) -> dict[str, Any]:
    """Answer one admin request; raises AdminError (-> HTTP 400) or KeyError (-> 404)."""
    route = path[len(PREFIX) :].strip("/")
    if not isinstance(body, dict):
        raise AdminError("the request body must be a JSON object")
    if (method, route) == ("GET", "health"):
        return {"ok": True}
    if (method, route) == ("GET", "state"):
        with store.lock:
            store.advance()
            return {**store.dump(), "pending": store.pending()}
    if (method, route) == ("GET", "calls"):
        with store.lock:
            calls = dict(store.calls)
            errors = store.errors
            logged = store.calls_logged
        return {
            "operations": calls,
            "total": sum(calls.values()),
            "emulator_errors": errors,
            "logged": logged,
        }
    if (method, route) == ("GET", "calls/log"):
        try:
            since = int(body.get("since", 0))
        except (TypeError, ValueError):
            raise AdminError("since must be an integer (a call's seq)") from None
        records = store.call_records(since)
        for key in ("operation", "user_agent"):
            wanted = body.get(key)
            if wanted is None:
                continue
            if key == "user_agent":  # a substring: botocore puts user_agent_extra at the end
                records = [r for r in records if wanted in (r["user_agent"] or "")]
            else:
                records = [r for r in records if r[key] == wanted]
        with store.lock:
            last = store.calls_logged
            dropped = last - len(store.call_log)
        return {"calls": records, "last": last, "dropped": dropped}
    if (method, route) == ("POST", "reset"):
        try:
            delay = None if body.get("delay") is None else float(body["delay"])
        except (TypeError, ValueError):
            raise AdminError('expected {"delay": SECONDS} or {}') from None
        store.reset(delay)
        return {"ok": True}
    if (method, route) == ("GET", "faults"):
        with store.lock:
            return store.faults.to_json()
    if (method, route) == ("POST", "faults"):
        with store.lock:
            store.advance()  # what fell due before the change happened without it
            try:
                store.faults = parse_faults(body, store.faults)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                raise AdminError(f"invalid faults: {error}") from None
            return store.faults.to_json()
    if (method, route) == ("DELETE", "faults"):
        with store.lock:
            now = time.time()
            store.advance(now)
            store.faults = Faults()
            store.release_stuck(now)
            return store.faults.to_json()
    if (method, route) == ("POST", "settle"):
        completed = store.settle(once=bool(body.get("once", False)))
        with store.lock:
            return {"completed": completed, "pending": store.pending()}
    if (method, route) == ("POST", "wait"):
        timeout = float(body.get("timeout", DEFAULT_WAIT_TIMEOUT))
        settled = store.wait(timeout)
        with store.lock:
            return {"settled": settled, "pending": store.pending()}
    if (method, route) == ("POST", "delay"):
        try:
            delay = float(body["delay"])
        except (KeyError, TypeError, ValueError):
            raise AdminError('expected {"delay": SECONDS}') from None
        with store.lock:
            store.advance()  # transitions started before the change keep the old delay
            store.delay = max(0.0, delay)
            return {"delay": store.delay}
    if (method, route) == ("GET", "token-time"):
        with store.lock:
            return {"token_time": store.token_time, "seconds_per_token": seconds_per_token(store)}
    if (method, route) == ("POST", "token-time"):
        seconds = body.get("token_time", "missing")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0
        ):
            raise AdminError('expected {"token_time": SECONDS} (0 or more, or null)')
        with store.lock:
            store.token_time = None if seconds is None else float(seconds)
            return {"token_time": store.token_time, "seconds_per_token": seconds_per_token(store)}
    if (method, route) == ("GET", "cold-start"):
        with store.lock:
            return _cold_start(store)
    if (method, route) == ("POST", "cold-start"):
        seconds = body.get("cold_start", "missing")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0
        ):
            raise AdminError('expected {"cold_start": SECONDS} (0 or more, or null)')
        with store.lock:
            store.cold_start = None if seconds is None else float(seconds)
            return _cold_start(store)
    if (method, route) == ("GET", "load"):
        with store.lock:
            return {"loads": store.load.to_json()}
    if (method, route) == ("POST", "load"):
        return _set_load(store, body)
    if (method, route) == ("POST", "marketplace/model-packages"):
        return _seed_marketplace(store, body)
    raise KeyError(route)


_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_MARKETPLACE_ARN = re.compile(
    r"arn:aws:sagemaker:([a-z0-9\-]{9,16}):([0-9]{12}):model-package/([a-zA-Z0-9-]{1,63})"
)


def _strings(body: dict[str, Any], key: str, allowed: list[str] | None = None) -> list[str]:
    values = body.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise AdminError(f"{key} must be a list of strings")
    unknown = [v for v in values if allowed is not None and v not in allowed]
    if unknown:
        raise AdminError(f"{key}: not SageMaker instance types: {', '.join(unknown)}")
    return list(values)


def _seed_marketplace(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Register an AWS Marketplace model package a subscriber can deploy by its ARN."""
    if body.get("arn"):
        found = _MARKETPLACE_ARN.fullmatch(str(body["arn"]))
        if found is None:
            raise AdminError(
                "arn must look like arn:aws:sagemaker:REGION:ACCOUNT:model-package/NAME"
            )
        region, account, name = found.groups()
    else:
        name = str(body.get("name") or "")
        region = str(body.get("region") or DEFAULT_REGION)
        account = str(body.get("account") or MARKETPLACE_ACCOUNT)
    if not _NAME.fullmatch(name) or not re.fullmatch(r"[0-9]{12}", account):
        raise AdminError(
            "name (1-63 letters, digits and inner hyphens) and a 12-digit account are required"
        )
    image = body.get("image")
    if not isinstance(image, str) or not image:
        raise AdminError("image (the package's container image) is required")
    environment = body.get("environment") or {}
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
    ):
        raise AdminError("environment must map strings to strings")
    types = sagemaker_instance_types()
    container: dict[str, Any] = {"Image": image, "Environment": environment}
    if body.get("model_data_url"):
        container["ModelDataUrl"] = str(body["model_data_url"])
    spec: dict[str, Any] = {
        "Containers": [container],
        "SupportedRealtimeInferenceInstanceTypes": _strings(
            body, "supported_realtime_instance_types", types
        ),
        "SupportedTransformInstanceTypes": _strings(body, "supported_transform_instance_types"),
        "SupportedContentTypes": _strings(body, "supported_content_types") or ["application/json"],
        "SupportedResponseMIMETypes": _strings(body, "supported_response_mime_types")
        or ["application/json"],
    }
    if not spec["SupportedRealtimeInferenceInstanceTypes"]:
        raise AdminError("supported_realtime_instance_types must name at least one instance type")
    if not spec["SupportedTransformInstanceTypes"]:
        del spec["SupportedTransformInstanceTypes"]
    caller = Caller(account, region)
    with store.lock:
        now = time.time()
        store.advance(now)
        record = seed_marketplace_package(
            store.region(caller),
            caller,
            name,
            spec,
            now,
            description=body.get("description"),
            certify_for_marketplace=body.get("certify_for_marketplace", True),
            network_isolation_required=body.get("network_isolation_required", True),
        )
        store.touch()
        return public(record)


def _cold_start(store: Store) -> dict[str, Any]:
    """The serverless cold start in force, and the cold starts each endpoint has had."""
    counts = {
        name: int(record.get("_ColdStarts", 0))
        for region in store.regions.values()
        for name, record in region.endpoints.items()
        if "_ColdStarts" in record
    }
    return {"cold_start": store.cold_start, "seconds": cold_start_seconds(store), "counts": counts}


def _set_load(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Set the steady load on one inference component or endpoint variant."""
    caller = Caller(
        str(body.get("account") or DEFAULT_ACCOUNT), str(body.get("region") or DEFAULT_REGION)
    )
    component, endpoint, variant = (
        body.get(key) for key in ("inference_component", "endpoint", "variant")
    )
    if component and not endpoint and not variant:
        target = Target.of_component(caller, str(component))
    elif endpoint and variant and not component:
        target = Target.of_variant(caller, str(endpoint), str(variant))
    else:
        raise AdminError(
            'name either {"inference_component": NAME} or {"endpoint": NAME, "variant": NAME}'
        )
    numbers: dict[str, float] = {}
    for key in ("concurrent_requests", "invocations_per_minute"):
        if body.get(key) is None:
            continue
        try:
            numbers[key] = float(body[key])
        except (TypeError, ValueError):
            raise AdminError(f"{key} must be a number") from None
        if not numbers[key] >= 0:
            raise AdminError(f"{key} must be 0 or more")
    with store.lock:
        store.advance()  # the load changes now: what fell due before saw the old load
        level = store.load.set(target, **numbers)
        return {
            **target.to_json(),
            "concurrent_requests": level.concurrent_requests,
            "invocations_per_minute": level.invocations_per_minute,
        }
