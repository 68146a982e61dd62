"""`llm-operator`: run the operator, print the CRD, or say the version."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from collections.abc import Sequence

from llm_operator import __version__
from llm_operator.shell.settings import OperatorSettings

# Loggers that would print request or response bodies (the HF token, Secret data)
# at DEBUG level: never let them below INFO, whatever --debug says.
_QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "kubernetes", "s3transfer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-operator",
        description="Kubernetes operator reconciling LLMEndpoint resources into Amazon SageMaker.",
    )
    parser.add_argument("--version", action="version", version=f"llm-operator {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the operator (settings from LLMOP_* variables, see docs/configuration.md)",
        description="Run the operator against the cluster of the current kubeconfig "
        "(or in-cluster config) and the AWS account of the standard AWS environment.",
    )
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=None,
        metavar="NS",
        help="watch this namespace (repeatable; overrides LLMOP_NAMESPACES)",
    )
    scope.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="watch every namespace (the default when LLMOP_NAMESPACES is empty)",
    )
    peering = run.add_mutually_exclusive_group()
    peering.add_argument(
        "--standalone",
        action="store_true",
        help="run without peering even if LLMOP_PEERING is set (one replica only)",
    )
    peering.add_argument(
        "--peering",
        metavar="NAME",
        default=None,
        help="kopf peering object shared by replicas (overrides LLMOP_PEERING)",
    )
    run.add_argument(
        "--liveness",
        metavar="URL",
        default=None,
        help="liveness endpoint, default http://0.0.0.0:<LLMOP_HEALTH_PORT>/healthz "
        "(none when LLMOP_HEALTH_PORT is 0)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="more log lines")
    run.add_argument("--debug", action="store_true", help="kopf debug logging")

    commands.add_parser("crd", help="print the LLMEndpoint CustomResourceDefinition (YAML)")
    return parser


def _run(args: argparse.Namespace) -> int:
    import kopf

    from llm_operator.shell import handlers  # noqa: F401  (importing registers the handlers)

    settings = OperatorSettings()
    namespaces = list(args.namespace or ([] if args.all_namespaces else settings.namespaces))
    peering = "" if args.standalone else (args.peering or settings.peering)
    settings = settings.model_copy(update={"namespaces": namespaces, "peering": peering})

    log_format = kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(debug=args.debug, verbose=args.verbose, log_format=log_format)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

    liveness = args.liveness
    if liveness is None and settings.health_port:
        liveness = f"http://0.0.0.0:{settings.health_port}/healthz"

    memo = kopf.Memo(operator_settings=settings)
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=not peering,
            peering_name=peering or None,
            # Replicas of one Deployment share their environment; with equal priorities
            # kopf pauses them all as conflicting, so each draws its own.
            priority=random.SystemRandom().randint(1, 2**31 - 1) if peering else 0,
            liveness_endpoint=liveness,
            memo=memo,
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "crd":
        from llm_operator.api.crd import render_crd_yaml

        sys.stdout.write(render_crd_yaml())
        return
    if args.command == "run":
        raise SystemExit(_run(args))
    _parser().print_help()
    raise SystemExit(2)


if __name__ == "__main__":
    main()
