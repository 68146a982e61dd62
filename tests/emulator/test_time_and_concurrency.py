"""Waiting on transitions without sleeping, namespaces per account and region, parallel clients."""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.plugins.emulator_fixtures import boto3_client


def test_wait_returns_once_transitions_have_completed(sm: Any, emulator_admin: AdminClient) -> None:
    emulator_admin.set_delay(0.2)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    assert emulator_admin.wait(timeout=30) is True
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"
    assert emulator_admin.pending() == []


def test_wait_times_out_while_something_is_still_transitioning(
    sm: Any, emulator_admin: AdminClient
) -> None:
    emulator_admin.set_delay(3600)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    assert emulator_admin.wait(timeout=0.2) is False
    assert [p["op"] for p in emulator_admin.pending()] == ["create"]


def test_boto3_waiters_work(sm: Any, emulator_admin: AdminClient) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="ep", WaiterConfig={"Delay": 0.01, "MaxAttempts": 5}
    )
    sm.delete_endpoint(EndpointName="ep")
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName="ep", WaiterConfig={"Delay": 0.01, "MaxAttempts": 5}
    )


def test_accounts_and_regions_are_separate(
    emulator: EmulatorServer, emulator_admin: AdminClient
) -> None:
    home = boto3_client(emulator.url)
    other_region = boto3_client(emulator.url, region_name="eu-west-1")
    other_account = boto3_client(emulator.url, aws_access_key_id="210987654321")
    for client in (home, other_region, other_account):
        builders.model(client, "same-name")
    assert other_region.describe_model(ModelName="same-name")["ModelArn"] == (
        "arn:aws:sagemaker:eu-west-1:123456789012:model/same-name"
    )
    assert other_account.describe_model(ModelName="same-name")["ModelArn"] == (
        "arn:aws:sagemaker:us-east-1:210987654321:model/same-name"
    )
    other_region.delete_model(ModelName="same-name")
    assert home.describe_model(ModelName="same-name")["ModelName"] == "same-name"
    state = AdminClient(emulator.url).state()["accounts"]
    assert set(state) == {"123456789012", "210987654321"}


def test_parallel_clients_see_one_consistent_state(
    emulator: EmulatorServer, emulator_admin: AdminClient
) -> None:
    admin = AdminClient(emulator.url)
    setup = boto3_client(emulator.url)
    builders.model(setup, "m")
    builders.model_config(setup, "cfg", "m")
    outcomes: list[str] = []
    lock = threading.Lock()

    clients = [boto3_client(emulator.url) for _ in range(8)]

    def worker(index: int) -> None:
        client = clients[index]
        for round_ in range(5):
            for name in (f"own-{index}-{round_}", "contended"):
                try:
                    client.create_endpoint(EndpointName=name, EndpointConfigName="cfg")
                    result = f"created {name}"
                except ClientError as failed:
                    result = failed.response["Error"]["Code"]
                with lock:
                    outcomes.append(result)
            client.list_endpoints(MaxResults=100)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created contended") == 1
    assert outcomes.count("ValidationException") == 8 * 5 - 1
    names = admin.resource_names()["endpoints"]
    assert len(names) == 8 * 5 + 1
    assert admin.emulator_errors() == 0
