"""charts/llm-operator: lint, schema, rendered objects, and each notable values
combination accepted by a real kube-apiserver (`kubectl apply --dry-run=server`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_operator.shell.settings import ENV_PREFIX, OperatorSettings
from local_cluster.cluster import LocalCluster
from tests.chart.helm import CHART, REPO, by_kind, helm, objects, template, values_file

ROLE_ARN = "arn:aws:iam::123456789012:role/llm-operator"
OTHER_ROLE_ARN = "arn:aws:iam::111122223333:role/team-a"

# A minimal stand-in for the Prometheus Operator's CRD, so ServiceMonitors can be dry-run.
SERVICE_MONITOR_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = by_kind(docs, "Deployment")
    (operator,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(operator)


def env(docs: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(docs)["env"] if "value" in e}


def rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# -- lint and schema --------------------------------------------------------------


def test_lint_strict(tmp_path: Path) -> None:
    helm("lint", "--strict", str(CHART))
    namespaced = {"replicaCount": 2, "watch": {"namespaces": ["team-a", "team-b"]}}
    helm("lint", "--strict", str(CHART), "-f", str(values_file(namespaced, tmp_path)))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": 0}, "at '/replicaCount': minimum: got 0, want 1"),
        ({"image": {"repository": "r", "tag": "v1 beta"}}, "at '/image/tag'"),
        ({"watch": {"namespaces": ["Team_A"]}}, "at '/watch/namespaces/0'"),
        ({"watch": {"namespaces": ["a", "a"]}}, "at '/watch/namespaces'"),
        ({"watch": {"namespaces": "team-a"}}, "at '/watch/namespaces'"),
        ({"aws": {"region": "virginia"}}, "at '/aws/region': 'virginia' does not match"),
        (
            {"aws": {"region": "us-east-1", "endpointOverrides": {"sagemaker": "localhost"}}},
            "at '/aws/endpointOverrides/sagemaker'",
        ),
        ({"serviceAccount": {"roleArn": "llm-operator"}}, "at '/serviceAccount/roleArn'"),
        ({"operator": {"logFormat": "xml"}}, "at '/operator/logFormat'"),
        ({"clusterName": "East_1"}, "at '/clusterName'"),
        (
            {"aws": {"region": "us-east-1", "namespaceRoles": {"team-a": "admin"}}},
            "at '/aws/namespaceRoles/team-a'",
        ),
        ({"runAsUser": 0}, "at '/runAsUser': minimum: got 0, want 1"),
        ({"replicas": 2}, "additional properties 'replicas' not allowed"),
    ],
)
def test_bad_values_fail_with_the_schema_message(
    values: dict[str, Any], message: str, tmp_path: Path
) -> None:
    result = helm(
        "template", "x", str(CHART), "-f", str(values_file(values, tmp_path)), check=False
    )
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


def test_chart_crd_is_the_generated_crd() -> None:
    generated = REPO / "crds" / "llmendpoints.yaml"
    assert (CHART / "crds" / "llmendpoints.yaml").read_text() == generated.read_text(), (
        "charts/llm-operator/crds/llmendpoints.yaml is stale: copy crds/llmendpoints.yaml"
    )


def test_admission_policy_is_installed_where_the_api_server_serves_it(tmp_path: Path) -> None:
    served = ("admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",)
    docs = objects(template({}, tmp_path, api_versions=served))
    (vap,) = by_kind(docs, "ValidatingAdmissionPolicy")
    (binding,) = by_kind(docs, "ValidatingAdmissionPolicyBinding")
    assert vap["spec"]["paramKind"] == {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpointPolicy",
    }
    assert binding["spec"]["policyName"] == vap["metadata"]["name"]
    assert binding["spec"]["paramRef"]["parameterNotFoundAction"] == "Allow"
    # An older API server, or turned off: none (the operator still checks the limits).
    assert not by_kind(objects(template({}, tmp_path)), "ValidatingAdmissionPolicy")
    off = {"policies": {"admission": False}}
    assert not by_kind(
        objects(template(off, tmp_path, api_versions=served)), "ValidatingAdmissionPolicy"
    )
    assert env(docs)[f"{ENV_PREFIX}ALLOW_ADOPTION"] == "false"


# -- rendered objects -------------------------------------------------------------


def test_deployment_runs_locked_down(tmp_path: Path) -> None:
    docs = objects(template({}, tmp_path))
    (deployment,) = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    operator = container(docs)
    security = operator["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"cpu", "memory"} <= set(operator["resources"]["requests"])
    assert "memory" in operator["resources"]["limits"]
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert operator[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    (tmp_mount,) = [m for m in operator["volumeMounts"] if m["mountPath"] == "/tmp"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == tmp_mount["name"]]
    assert "emptyDir" in volume
    assert operator["image"].endswith(":0.1.0")  # the appVersion by default
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert "affinity" not in pod


def test_operator_environment_is_what_the_operator_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {
        "watch": {"namespaces": ["team-a", "team-b"]},
        "operator": {"resyncSeconds": 600, "transitionPollSeconds": 20, "logFormat": "json"},
        "aws": {
            "region": "eu-west-1",
            "callsPerSecond": 4,
            "namespaceRoles": {"team-b": ROLE_ARN, "team-a": OTHER_ROLE_ARN},
        },
        "clusterName": "east",
    }
    variables = env(objects(template(values, tmp_path)))
    known = {f"{ENV_PREFIX}{name.upper()}" for name in OperatorSettings.model_fields}
    ours = {name for name in variables if name.startswith(ENV_PREFIX)}
    assert ours <= known, f"the chart sets variables the operator ignores: {ours - known}"
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for name in ours:
        monkeypatch.setenv(name, variables[name])
    settings = OperatorSettings()
    assert settings.namespaces == ["team-a", "team-b"]
    assert settings.resync_seconds == 600
    assert settings.transition_poll_seconds == 20
    assert settings.aws_calls_per_second == 4
    assert settings.log_format == "json"
    assert settings.peering == ""
    assert settings.default_region == "eu-west-1"
    assert settings.cluster_name == "east"
    assert settings.namespace_roles == {"team-a": OTHER_ROLE_ARN, "team-b": ROLE_ARN}
    assert variables["AWS_REGION"] == "eu-west-1"


def test_one_replica_runs_standalone_without_pdb(tmp_path: Path) -> None:
    docs = objects(template({}, tmp_path))
    assert env(docs)[f"{ENV_PREFIX}PEERING"] == ""
    assert not by_kind(docs, "PodDisruptionBudget")
    assert not by_kind(docs, "ClusterKopfPeering") and not by_kind(docs, "KopfPeering")
    (cluster_role,) = by_kind(docs, "ClusterRole")
    assert not any(group == "kopf.dev" for group, _, _ in rules(cluster_role))


def test_replicas_peer_through_kopf(tmp_path: Path) -> None:
    docs = objects(template({"replicaCount": 3}, tmp_path))
    (peering,) = by_kind(docs, "ClusterKopfPeering")
    assert env(docs)[f"{ENV_PREFIX}PEERING"] == peering["metadata"]["name"]
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    (cluster_role,) = by_kind(docs, "ClusterRole")
    assert ("kopf.dev", "clusterkopfpeerings", "patch") in rules(cluster_role)
    (deployment,) = by_kind(docs, "Deployment")
    assert "strategy" not in deployment["spec"]  # rolling: the standby takes over
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector


def test_namespaced_rbac_keeps_cluster_role_to_crd_reads(tmp_path: Path) -> None:
    values = {"replicaCount": 2, "watch": {"namespaces": ["team-a", "team-b"]}}
    docs = objects(template(values, tmp_path))
    (cluster_role,) = by_kind(docs, "ClusterRole")
    assert rules(cluster_role) == {
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
        ("", "namespaces", "get"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
        ("llmoperator.io", "llmendpointpolicies", "get"),
        ("llmoperator.io", "llmendpointpolicies", "list"),
        ("llmoperator.io", "llmendpointpolicies", "watch"),
        ("llmoperator.io", "llmendpointpolicies/status", "patch"),
    }
    roles = by_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        granted = rules(role)
        assert ("", "secrets", "get") in granted
        assert ("", "secrets", "list") not in granted
        assert ("llmoperator.io", "llmendpoints/status", "patch") in granted
        # LLMEndpointPools: watched, their finalizer patched, their status written.
        assert ("llmoperator.io", "llmendpointpools", "patch") in granted
        assert ("llmoperator.io", "llmendpointpools/status", "patch") in granted
        assert ("kopf.dev", "kopfpeerings", "patch") in granted
        assert not any(v in {"delete", "create", "*"} for _, r, v in granted if r != "events")
    peerings = by_kind(docs, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["team-a", "team-b"]
    assert env(docs)[f"{ENV_PREFIX}NAMESPACES"] == "team-a,team-b"


def test_irsa_annotation_and_endpoint_overrides(tmp_path: Path) -> None:
    values = {
        "serviceAccount": {"roleArn": ROLE_ARN, "annotations": {"team": "ml"}},
        "aws": {
            "region": "us-west-2",
            "endpointOverrides": {
                "sagemaker": "https://vpce-1.api.sagemaker.us-west-2.vpce.amazonaws.com",
                "sagemakerRuntime": "http://127.0.0.1:4566",
            },
        },
    }
    docs = objects(template(values, tmp_path))
    (account,) = by_kind(docs, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN
    assert account["metadata"]["annotations"]["team"] == "ml"
    variables = env(docs)
    assert variables["AWS_ENDPOINT_URL_SAGEMAKER"].startswith("https://vpce-1.")
    assert variables["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == "http://127.0.0.1:4566"
    assert "AWS_ENDPOINT_URL_STS" not in variables
    default = env(objects(template({}, tmp_path)))
    assert not any(name.startswith("AWS_ENDPOINT_URL") for name in default)


def test_service_monitor_scrapes_the_metrics_service(tmp_path: Path) -> None:
    docs = objects(template({"metrics": {"serviceMonitor": {"enabled": True}}}, tmp_path))
    (monitor,) = by_kind(docs, "ServiceMonitor")
    (service,) = by_kind(docs, "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert not by_kind(objects(template({}, tmp_path)), "ServiceMonitor")


# -- against the real API server ---------------------------------------------------

COMBINATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "namespaced": {"watch": {"namespaces": ["WATCH1", "WATCH2"]}},
    "replicas-2-peering": {"replicaCount": 2},
    "replicas-2-namespaced": {"replicaCount": 2, "watch": {"namespaces": ["WATCH1"]}},
    "service-monitor": {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"a": "b"}}}},
    "irsa": {"serviceAccount": {"roleArn": ROLE_ARN}},
    "endpoint-overrides": {
        "aws": {
            "region": "us-east-1",
            "endpointOverrides": {
                "sagemaker": "http://127.0.0.1:8000",
                "sagemakerRuntime": "http://127.0.0.1:8000",
                "sts": "http://127.0.0.1:5000",
            },
        }
    },
}


@pytest.fixture(scope="module")
def chart_crds(cluster: LocalCluster) -> LocalCluster:
    """The chart's CRDs (kopf peering) and a ServiceMonitor CRD, installed for real."""
    for manifest in sorted((CHART / "crds").glob("*.yaml")):
        cluster.kubectl("apply", "--server-side", "-f", str(manifest))
    cluster.kubectl("apply", "--server-side", "-f", "-", input=SERVICE_MONITOR_CRD)
    for crd in (
        "kopfpeerings.kopf.dev",
        "clusterkopfpeerings.kopf.dev",
        "servicemonitors.monitoring.coreos.com",
    ):
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
    return cluster


def new_namespaces(cluster: LocalCluster, count: int) -> list[str]:
    names = [f"watched-{uuid.uuid4().hex[:8]}" for _ in range(count)]
    for name in names:
        cluster.kubectl("create", "namespace", name)
    return names


def with_namespaces(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    text = yaml.safe_dump(values)
    for i, name in enumerate(names, start=1):
        text = text.replace(f"WATCH{i}", name)
    return dict(yaml.safe_load(text))


@pytest.mark.e2e
@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_rendered_chart_is_accepted_by_the_api_server(
    combination: str, chart_crds: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    values = with_namespaces(COMBINATIONS[combination], new_namespaces(chart_crds, 2))
    release = f"r{uuid.uuid4().hex[:6]}"
    manifest = template(values, tmp_path, release=release, namespace=namespace)
    result = chart_crds.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest)
    kinds = {doc["kind"] for doc in objects(manifest)}
    for kind in kinds:
        assert f"{kind.lower()}" in result.stdout.lower()
    assert result.stdout.count("(server dry run)") == len(objects(manifest))


def can_i(cluster: LocalCluster, account: str, *args: str) -> bool:
    result = cluster.kubectl("auth", "can-i", *args, f"--as={account}", check=False)
    return result.stdout.strip() == "yes"


@pytest.mark.e2e
def test_namespaced_rbac_grants_only_what_the_operator_needs(
    chart_crds: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    watched, other = new_namespaces(chart_crds, 2)
    release = f"r{uuid.uuid4().hex[:6]}"
    values = {"replicaCount": 2, "watch": {"namespaces": [watched]}}
    for part in ("templates/serviceaccount.yaml", "templates/rbac.yaml"):
        manifest = template(values, tmp_path, release=release, namespace=namespace, show_only=part)
        chart_crds.kubectl("apply", "-f", "-", input=manifest)
    account = f"system:serviceaccount:{namespace}:{release}-llm-operator"
    c = chart_crds
    for verb in ("get", "list", "watch", "patch"):
        assert can_i(c, account, verb, "llmendpoints.llmoperator.io", "-n", watched)
    assert can_i(
        c, account, "patch", "llmendpoints.llmoperator.io", "--subresource=status", "-n", watched
    )
    assert can_i(c, account, "create", "events", "-n", watched)
    assert can_i(c, account, "create", "events.events.k8s.io", "-n", watched)
    assert can_i(c, account, "get", "secrets", "-n", watched)
    assert can_i(c, account, "patch", "kopfpeerings.kopf.dev", "-n", watched)
    assert can_i(c, account, "list", "customresourcedefinitions.apiextensions.k8s.io")
    # Nothing more: no deletes, no secret listing, nothing outside the watched namespace.
    assert not can_i(c, account, "delete", "llmendpoints.llmoperator.io", "-n", watched)
    assert not can_i(c, account, "create", "llmendpoints.llmoperator.io", "-n", watched)
    assert not can_i(c, account, "list", "secrets", "-n", watched)
    assert not can_i(c, account, "list", "llmendpoints.llmoperator.io", "-n", other)
    assert not can_i(c, account, "get", "secrets", "-n", other)
    assert can_i(c, account, "watch", "namespaces")  # kopf's namespace scanning
    assert can_i(c, account, "get", "namespaces")  # a namespace's AWS role annotations
    assert not can_i(c, account, "patch", "namespaces")
    assert not can_i(c, account, "update", "namespaces")
    assert not can_i(c, account, "patch", "customresourcedefinitions.apiextensions.k8s.io")


@pytest.mark.e2e
def test_cluster_wide_rbac_reaches_every_namespace_but_no_further(
    chart_crds: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    (anywhere,) = new_namespaces(chart_crds, 1)
    release = f"r{uuid.uuid4().hex[:6]}"
    manifest = template(
        {}, tmp_path, release=release, namespace=namespace, show_only="templates/rbac.yaml"
    )
    chart_crds.kubectl("apply", "-f", "-", input=manifest)
    account = f"system:serviceaccount:{namespace}:{release}-llm-operator"
    c = chart_crds
    assert can_i(c, account, "list", "llmendpoints.llmoperator.io", "--all-namespaces")
    assert can_i(c, account, "watch", "namespaces")
    assert can_i(c, account, "get", "secrets", "-n", anywhere)
    assert not can_i(c, account, "list", "secrets", "-n", anywhere)
    assert not can_i(c, account, "delete", "llmendpoints.llmoperator.io", "-n", anywhere)
    assert not can_i(c, account, "patch", "clusterkopfpeerings.kopf.dev")  # one replica


@pytest.mark.e2e
def test_install_notes_warn_when_no_aws_identity_is_wired(
    chart_crds: LocalCluster, namespace: str
) -> None:
    def notes(*extra: str) -> str:
        result = helm(
            "install",
            f"r{uuid.uuid4().hex[:6]}",
            str(CHART),
            "--namespace",
            namespace,
            "--kubeconfig",
            str(chart_crds.kubeconfig),
            "--dry-run=server",
            *extra,
        )
        return result.stdout.split("NOTES:", 1)[1]

    without = notes()
    assert "serviceAccount.roleArn is empty" in without
    assert "Watching: all namespaces" in without
    with_role = notes("--set", f"serviceAccount.roleArn={ROLE_ARN}")
    assert "roleArn is empty" not in with_role
