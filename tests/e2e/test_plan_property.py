"""`llm-operator plan` on whatever the CRD accepts: every example in examples/ and specs
generated from the CRD's own OpenAPI schema (tests/plugins/crd_specs.py) are planned as
the command plans them (`plan_all`, the person's kubeconfig on the real API server, the
emulator with moto beside it): never an exception, exit code 0, 2 or 1 only, and an
error (exit 1) always a readable `Reason: message` line, in text and JSON alike.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings

from llm_operator.shell.commands.kube import Cluster, connect
from llm_operator.shell.commands.plan import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_NO_CHANGES,
    EndpointPlan,
    exit_code,
    plan_all,
    render_text,
)
from local_cluster.cluster import LocalCluster
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.crd_specs import specs
from tests.plugins.examples import example_files, llmendpoint_docs
from tests.plugins.reconciling import aws_environment

pytestmark = pytest.mark.e2e

# "Reason: message": a CamelCase reason, then words (never a repr or a traceback).
READABLE = re.compile(r"^(SageMaker: )?[A-Z][A-Za-z0-9]+: \S.*")


@dataclass
class Ground:
    cluster: Cluster  # as `llm-operator plan` connects, with the admin's kubeconfig
    namespace: str


@pytest.fixture(scope="module")
def ground(cluster: LocalCluster, emulator_with_moto: EmulatorServer) -> Iterator[Ground]:
    """The session's API server and emulator (with moto), the AWS environment pointed
    at them for the module, and a namespace to plan in (nothing is created there)."""
    namespace = f"plan-property-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    moto = emulator_with_moto.moto_url
    assert moto is not None
    with pytest.MonkeyPatch.context() as env:
        aws_environment(
            env,
            SAGEMAKER=emulator_with_moto.url,
            APPLICATION_AUTO_SCALING=moto,
            CLOUDWATCH=moto,
            STS=moto,
        )
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield Ground(connect(kubeconfig=str(cluster.kubeconfig), namespace=namespace), namespace)


def plan(ground: Ground, manifests: list[dict[str, Any]]) -> tuple[int, list[EndpointPlan]]:
    """`llm-operator plan -f` of `manifests` as far as its output: the exit code and
    every plan, whose text and JSON forms must render."""
    plans = asyncio.run(plan_all(ground.cluster, manifests, None))
    code = exit_code(plans)
    text = render_text(plans)
    shown = json.dumps([p.to_json() for p in plans])
    assert code in (EXIT_NO_CHANGES, EXIT_CHANGES, EXIT_ERROR), text
    if code == EXIT_ERROR:
        errors = [e for p in plans for e in p.errors]
        assert errors, text
        for error in errors:
            assert READABLE.match(error), error
            assert "Traceback" not in error and " object at 0x" not in error, error
            assert f"error: {error}" in text
        assert "could not be planned" in text
    else:
        assert not any(p.errors for p in plans), text
    assert "Traceback" not in text + shown
    return code, plans


@pytest.mark.parametrize("example", example_files(), ids=lambda p: p.stem)
def test_every_example_plans_as_new(ground: Ground, example: Path) -> None:
    manifests = llmendpoint_docs(example)
    code, plans = plan(ground, manifests)
    assert code == EXIT_CHANGES, render_text(plans)
    for planned in plans:
        assert not planned.exists
        assert any(s.operation == "CreateEndpoint" for s in planned.steps), render_text(plans)
        if (manifests[0]["spec"].get("autoscaling")) is not None:
            assert {"RegisterScalableTarget", "PutScalingPolicy"} <= {
                s.operation for s in planned.steps
            }, render_text(plans)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spec=specs())
def test_any_spec_the_schema_accepts_plans_without_a_traceback(
    ground: Ground, spec: dict[str, Any]
) -> None:
    manifest = {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": {"name": "generated", "namespace": ground.namespace},
        "spec": spec,
    }
    code, plans = plan(ground, [manifest])
    # --hypothesis-show-statistics: how far the specs got
    event(f"exit code {code}" + "".join(f": {e.split(':')[0]}" for e in plans[0].errors[:1]))
    assert code != EXIT_NO_CHANGES  # a new LLMEndpoint always has something to create
