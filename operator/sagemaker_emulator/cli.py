"""`sagemaker-emulator`: serve the SageMaker emulator (and optionally moto) on loopback."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .faults import parse_faults
from .server import EmulatorServer


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sagemaker-emulator",
        description=(
            "A local emulator of the Amazon SageMaker control plane (models, endpoint configs, "
            "endpoints, inference components, tags) and of sagemaker-runtime InvokeEndpoint. "
            "Point boto3 at it with AWS_ENDPOINT_URL_SAGEMAKER and "
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME; any credentials work (a 12-digit access key "
            "id selects that account). Admin API under /_emulator/ (see docs/emulator.md)."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)"
    )
    p.add_argument(
        "--delay",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="how long each asynchronous transition (Creating, Updating, Deleting, and each "
        "inference component copy starting) lasts (default 3)",
    )
    p.add_argument(
        "--token-time",
        type=float,
        metavar="SECONDS",
        help="seconds between two tokens a model generates, used as given (default: AWS's "
        "0.02 s scaled like every AWS duration, so 0.0002 s with --delay 3 and none with "
        "--delay 0); streams send each token as it is generated",
    )
    p.add_argument(
        "--cold-start",
        type=float,
        metavar="SECONDS",
        help="seconds a serverless endpoint's first invocation after idle waits, used as "
        "given (default: AWS's 10 s scaled like every AWS duration)",
    )
    p.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep resources in this JSON file across restarts (default: in memory only)",
    )
    p.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="answer this fraction of API calls with ThrottlingException (0..1)",
    )
    p.add_argument(
        "--internal-error-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="answer this fraction of API calls with a 500 InternalFailure (0..1)",
    )
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="add this much latency to every API call",
    )
    p.add_argument(
        "--fail-next",
        action="append",
        default=[],
        metavar="RESOURCE[:NAME]=REASON",
        help="the next creation or update of that resource type (model, endpoint_config, "
        "endpoint, inference_component), optionally by name, fails with REASON; repeatable",
    )
    p.add_argument(
        "--stuck",
        action="append",
        default=[],
        metavar="RESOURCE[:NAME]",
        help="resources of that type (optionally by name) stay in Creating; repeatable",
    )
    p.add_argument(
        "--instance-limit",
        action="append",
        default=[],
        metavar="TYPE=COUNT",
        help="account-level quota of instances of TYPE for endpoint usage; repeatable",
    )
    p.add_argument("--seed", type=int, help="seed for the random throttling and error faults")
    p.add_argument(
        "--with-moto",
        action="store_true",
        help="also start moto's server (STS, Application Auto Scaling, CloudWatch, ...) on a "
        "free loopback port and print its URL on the second line; the emulator then acts on "
        "the scalable targets, scaling policies and alarms registered there",
    )
    p.add_argument(
        "--moto-port",
        type=int,
        default=0,
        metavar="PORT",
        help="with --with-moto: the port moto listens on; 0 picks a free one (default). A "
        "fixed one lets a container beside the emulator be configured before it starts",
    )
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def _fault_body(args: argparse.Namespace) -> dict[str, object]:
    def target(text: str) -> dict[str, str]:
        resource, _, name = text.partition(":")
        return {"resource": resource, **({"name": name} if name else {})}

    fail_next = []
    for item in args.fail_next:
        spec, sep, reason = item.partition("=")
        if not sep:
            raise ValueError(f"--fail-next expects RESOURCE[:NAME]=REASON, got {item!r}")
        fail_next.append({**target(spec), "reason": reason})
    limits = {}
    for item in args.instance_limit:
        kind, sep, count = item.partition("=")
        if not sep:
            raise ValueError(f"--instance-limit expects TYPE=COUNT, got {item!r}")
        limits[kind] = int(count)
    body: dict[str, object] = {
        "throttle_rate": args.throttle_rate,
        "internal_error_rate": args.internal_error_rate,
        "latency_seconds": args.latency,
        "fail_next": fail_next,
        "stuck": [target(item) for item in args.stuck],
        "instance_limits": limits,
    }
    if args.seed is not None:
        body["seed"] = args.seed
    return body


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    server = EmulatorServer(
        args.host,
        args.port,
        args.delay,
        args.state_file,
        args.verbose,
        with_moto=args.with_moto,
        token_time=args.token_time,
        moto_port=args.moto_port,
    )
    if args.token_time is not None and args.token_time < 0:
        parser().error("--token-time must be 0 or more")
    if args.cold_start is not None and args.cold_start < 0:
        parser().error("--cold-start must be 0 or more")
    server.store.cold_start = server.store.initial_cold_start = args.cold_start
    try:
        server.store.faults = parse_faults(_fault_body(args), server.store.faults)
    except (ValueError, KeyError) as error:
        parser().error(str(error))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Connection threads hand the GIL over quickly instead of queueing behind each other.
    sys.setswitchinterval(0.0005)
    server.start()
    print(f"sagemaker-emulator listening on {server.url}", flush=True)
    if server.moto is not None:
        print(f"moto listening on {server.moto_url}", flush=True)
    while not stop.wait(1.0):
        pass
    server.stop()
    sys.exit(0)
