"""Requests per second the SageMaker emulator serves for a Describe-heavy mix.

The emulator runs as its own process pinned to one core (the console script,
as users run it); parallel boto3 clients run in separate processes on the
other cores. Prints one line per figure; exits 1 if below --min-rps.

    .venv/bin/python bench/emulator_rps.py [--clients 6] [--seconds 10] [--client-cores all]

Besides requests/s it prints the emulator's own CPU time, so a run on a busy
machine (clients starved of CPU) still shows what one emulator core can serve.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from typing import Any

import boto3
from botocore.config import Config

from sagemaker_emulator.admin import AdminClient

ROLE = "arn:aws:iam::123456789012:role/bench"


def client(url: str, service: str = "sagemaker") -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"mode": "standard"}, max_pool_connections=4),
    )


def populate(url: str, endpoints: int) -> None:
    sm = client(url)
    sm.create_model(
        ModelName="bench-model", PrimaryContainer={"Image": "tgi:latest"}, ExecutionRoleArn=ROLE
    )
    sm.create_endpoint_config(
        EndpointConfigName="bench-config",
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 1,
                    "MaxInstanceCount": 4,
                },
            }
        ],
    )
    for index in range(endpoints):
        sm.create_endpoint(EndpointName=f"bench-{index}", EndpointConfigName="bench-config")
    AdminClient(url).settle()
    for index in range(endpoints):
        sm.create_inference_component(
            InferenceComponentName=f"bench-ic-{index}",
            EndpointName=f"bench-{index}",
            VariantName="AllTraffic",
            Specification={
                "ModelName": "bench-model",
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": 1,
                    "MinMemoryRequiredInMb": 1024,
                },
            },
            RuntimeConfig={"CopyCount": 1},
        )
    AdminClient(url).settle()


def worker(url: str, endpoints: int, seconds: float, core: int, out: Any) -> None:
    os.sched_setaffinity(0, {core})
    sm = client(url)
    sm.describe_endpoint(EndpointName="bench-0")  # warm the connection and the model loader
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        index = done % endpoints
        kind = done % 10
        if kind < 7:
            sm.describe_endpoint(EndpointName=f"bench-{index}")
        elif kind < 9:
            sm.describe_inference_component(InferenceComponentName=f"bench-ic-{index}")
        else:
            sm.list_endpoints(MaxResults=10)
        done += 1
    out.put(done)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, to tell whether the server or the clients limit."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=6, help="client processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the load")
    parser.add_argument("--endpoints", type=int, default=200, help="endpoints (one IC each)")
    parser.add_argument("--min-rps", type=float, default=500.0, help="exit 1 below this")
    parser.add_argument(
        "--client-cores",
        choices=("others", "all"),
        default="all",
        help="clients on every core (default) or only on those the emulator is not pinned to",
    )
    args = parser.parse_args()

    cores = sorted(os.sched_getaffinity(0))
    server_core = cores[0]
    client_cores = cores[1:] if args.client_cores == "others" and len(cores) > 1 else cores
    command = [sys.executable, "-c", "from sagemaker_emulator.cli import main; main()"]
    command += ["--delay", "0"]
    emulator = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    os.sched_setaffinity(emulator.pid, {server_core})
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip().rsplit(" ", 1)[-1]
        populate(url, args.endpoints)
        before = sum(AdminClient(url).calls().values())
        queue: Any = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(
                target=worker,
                args=(
                    url,
                    args.endpoints,
                    args.seconds,
                    client_cores[i % len(client_cores)],
                    queue,
                ),
            )
            for i in range(args.clients)
        ]
        cpu_before = _cpu_seconds(emulator.pid)
        for proc in procs:
            proc.start()
        total = sum(queue.get() for _ in procs)
        for proc in procs:
            proc.join()
        server_cpu = _cpu_seconds(emulator.pid) - cpu_before
        served = sum(AdminClient(url).calls().values()) - before
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    rps = total / args.seconds
    print(f"emulator pinned to core {server_core}; {args.clients} clients on cores {client_cores}")
    print("mix: 70% DescribeEndpoint, 20% DescribeInferenceComponent, 10% ListEndpoints")
    print(f"requests: {total} in {args.seconds:.1f}s (emulator counted {served})")
    print(f"emulator CPU: {server_cpu:.2f}s ({server_cpu / args.seconds:.0%} of its core)")
    print(f"emulator_cpu_capacity: {total / max(server_cpu, 1e-9):.0f} requests per CPU-second")
    print(f"emulator_rps: {rps:.0f} requests/s")
    if rps < args.min_rps:
        print(f"below the {args.min_rps:.0f} requests/s target (clients may be CPU-starved)")
        sys.exit(1)


if __name__ == "__main__":
    main()
