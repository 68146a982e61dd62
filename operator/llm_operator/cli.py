"""`llm-operator`: run the operator, print the CRD, plan, invoke, audit, or say the version.

`kubectl-llme` is the same program as a kubectl plugin (`kubectl llme plan|invoke|audit`);
the commands themselves live in `llm_operator.shell.commands`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from llm_operator import __version__

# Each command imports what it needs when it runs (kopf, the Kubernetes client, boto3,
# pydantic take seconds of CPU): `--version`, `--help` and `crd` need none of them.

# Loggers that would print request or response bodies (the HF token, Secret data)
# at DEBUG level: never let them below INFO, whatever --debug says.
_QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "kubernetes", "s3transfer")


def _parser(prog: str = "llm-operator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
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

    crd = commands.add_parser("crd", help="print the LLMEndpoint CustomResourceDefinition (YAML)")
    crd.add_argument(
        "--policy",
        action="store_true",
        help="print the LLMEndpointPolicy CustomResourceDefinition instead",
    )
    crd.add_argument(
        "--pool",
        action="store_true",
        help="print the LLMEndpointPool CustomResourceDefinition instead",
    )
    _add_tools(commands)
    return parser


def _kube_flags(parser: argparse.ArgumentParser) -> None:
    """kubectl's own flags, so `kubectl llme ...` takes them like any kubectl command."""
    parser.add_argument("--kubeconfig", default=None, help="path to the kubeconfig file")
    parser.add_argument("--context", default=None, help="the kubeconfig context to use")
    parser.add_argument(
        "-n", "--namespace", default=None, help="namespace (default: the context's, else default)"
    )
    parser.add_argument(
        "-o", "--output", choices=("text", "json"), default="text", help="text for people, json"
    )


def _add_tools(commands: Any) -> None:
    plan = commands.add_parser(
        "plan",
        help="show the SageMaker calls the operator would make for a file (read-only)",
        description="Show the SageMaker calls the operator would make for the LLMEndpoints "
        "in FILE, with the fields that change, the cost per hour and warnings. Reads only. "
        "Exit code 0: no changes, 2: changes, 1: error.",
    )
    plan.add_argument("-f", "--filename", required=True, metavar="FILE", help="YAML; - for stdin")
    _kube_flags(plan)

    invoke = commands.add_parser(
        "invoke",
        help="send a prompt (or texts to embed or rerank) to an LLMEndpoint's model",
        description="Send a prompt to the model behind an LLMEndpoint (endpoint and inference "
        "component from its status) and print the answer and the latency.",
    )
    invoke.add_argument("name", metavar="NAME", help="the LLMEndpoint")
    invoke.add_argument("--prompt", default=None, help="the text to send (text generation)")
    invoke.add_argument(
        "--input",
        action="append",
        default=None,
        metavar="TEXT",
        help="embedding models (engine tei): a text to embed (repeatable); prints each "
        "vector's size and first values",
    )
    invoke.add_argument(
        "--rerank",
        default=None,
        metavar="QUERY",
        help="reranker models (engine tei): score --texts against QUERY, best first",
    )
    invoke.add_argument(
        "--texts", nargs="+", default=None, metavar="TEXT", help="with --rerank: the texts"
    )
    invoke.add_argument("--adapter", default=None, metavar="NAME", help="a LoRA adapter of it")
    invoke.add_argument("--stream", action="store_true", help="print tokens as they arrive")
    invoke.add_argument(
        "--async",
        dest="asynchronous",
        action="store_true",
        help="asynchronous endpoints (endpointType Async): upload the request to S3, "
        "InvokeEndpointAsync, wait for the answer in S3 and print it",
    )
    invoke.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="with --async: print the InferenceId and the output location, do not wait",
    )
    invoke.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="with --async: how long to wait for the answer (1800)",
    )
    invoke.add_argument(
        "--max-tokens", type=int, default=128, metavar="N", help="tokens to generate (128)"
    )
    _kube_flags(invoke)

    audit = commands.add_parser(
        "audit",
        help="list SageMaker resources of this operator nobody owns or uses, and their cost",
        description="List the SageMaker resources tagged as this operator's whose LLMEndpoint "
        "is gone (orphaned or retained), and in-use endpoints without traffic, with their "
        "cost per hour. Speaks for the cluster of the kubeconfig: another cluster's "
        "resources are never orphans here, and resources no cluster tag attributes are "
        "listed as unattributed. --delete removes the orphaned ones after asking.",
    )
    audit.add_argument(
        "--region", action="append", default=[], metavar="R", help="repeatable; default AWS_REGION"
    )
    audit.add_argument(
        "--all-accounts", action="store_true", help="every profile of the AWS config files"
    )
    audit.add_argument(
        "--idle-hours",
        type=float,
        default=24.0,
        metavar="H",
        help="no invocations over this many hours is idle (24)",
    )
    audit.add_argument("--delete", action="store_true", help="delete the orphaned resources")
    audit.add_argument(
        "--include-retained",
        action="store_true",
        help="with --delete: also what a deletionPolicy Retain kept",
    )
    audit.add_argument(
        "--include-unattributed",
        action="store_true",
        help="with --delete: also resources no cluster tag attributes (made before the "
        "operator tagged its cluster): they may be another cluster's, still in use",
    )
    audit.add_argument(
        "--all-clusters",
        action="store_true",
        help="also list other clusters' resources in this account (never deleted)",
    )
    audit.add_argument("--yes", action="store_true", help="with --delete: do not ask")
    _kube_flags(audit)


def _tool(args: argparse.Namespace) -> int:
    from urllib3.exceptions import MaxRetryError

    from llm_operator.shell.commands import audit, invoke, kube, plan

    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        if args.command == "invoke":
            invoke.check_flags(args.prompt, args.input, args.rerank, args.texts)
        cluster = kube.connect(args.kubeconfig, args.context, args.namespace)
        if args.command == "plan":
            return plan.run(cluster, args.filename, args.namespace, args.output)
        if args.command == "invoke":
            if args.max_tokens < 1:
                raise kube.CommandError("--max-tokens must be at least 1")
            if not args.wait and not args.asynchronous:
                raise kube.CommandError("--no-wait applies to --async only")
            return invoke.run(
                cluster,
                args.name,
                prompt=args.prompt,
                inputs=args.input,
                rerank=args.rerank,
                texts=args.texts,
                adapter=args.adapter,
                stream=args.stream,
                max_tokens=args.max_tokens,
                output=args.output,
                asynchronous=args.asynchronous,
                wait=args.wait,
                timeout=args.timeout,
            )
        return audit.run(
            cluster,
            regions=args.region,
            all_accounts=args.all_accounts,
            idle_hours=args.idle_hours,
            do_delete=args.delete,
            include_retained=args.include_retained,
            include_unattributed=args.include_unattributed,
            all_clusters=args.all_clusters,
            assume_yes=args.yes,
            output=args.output,
        )
    except kube.CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except MaxRetryError as exc:  # the API server is down or unreachable
        where = f"{exc.pool.host}:{exc.pool.port}" if exc.pool is not None else "unknown"
        print(
            f"error: could not reach the Kubernetes API server at {where} "
            f"(check the kubeconfig's context and that the cluster is up): {exc.reason}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import random

    import kopf

    from llm_operator.shell import handlers  # noqa: F401  (importing registers the handlers)
    from llm_operator.shell.settings import OperatorSettings

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
        from llm_operator.api.crd import (
            render_crd_yaml,
            render_policy_crd_yaml,
            render_pool_crd_yaml,
        )

        if args.pool:
            sys.stdout.write(render_pool_crd_yaml())
        else:
            sys.stdout.write(render_policy_crd_yaml() if args.policy else render_crd_yaml())
        return
    if args.command == "run":
        raise SystemExit(_run(args))
    if args.command in _TOOLS:
        raise SystemExit(_tool(args))
    _parser().print_help()
    raise SystemExit(2)


_TOOLS = ("plan", "invoke", "audit")


def kubectl_main(argv: Sequence[str] | None = None) -> None:
    """`kubectl-llme`: kubectl runs it for `kubectl llme plan|invoke|audit ...`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in _TOOLS:
        if args and args[0] in ("-h", "--help"):
            print("usage: kubectl llme {plan,invoke,audit} ... (see kubectl llme COMMAND --help)")
            raise SystemExit(0)
        print("usage: kubectl llme {plan,invoke,audit} ...", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(_tool(_parser("kubectl llme").parse_args(args)))


if __name__ == "__main__":
    main()
