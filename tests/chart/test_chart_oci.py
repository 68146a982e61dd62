"""The chart's release path, with the real tools on this machine: `helm package` at the
release's version, `helm push` to an OCI registry on loopback (go-containerregistry's
`crane registry serve`), `helm install` from `oci://` with Helm 3 and Helm 4, and the
upgrade docs/install.md gives, from the previous release's chart with live
LLMEndpoints: the CRDs are replaced, the stored objects survive, the Deployment rolls,
and the operator the new Deployment describes writes nothing to SageMaker.

One control plane of its own for the module (the previous chart must install its own
CRDs), one registry, one emulator. No kubelet runs, so each operator is a local process
with its Deployment's environment, as in test_chart_runtime.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from scripts import release

from local_cluster import binaries, processes
from local_cluster.cluster import LocalCluster
from local_cluster.ports import free_port
from local_cluster.services import EMULATOR_AWS_ENV, Emulator, Operator
from local_cluster.waiting import wait_for
from tests.chart.helm import REPO
from tests.plugins.operator_fixtures import EmulatorProcesses

pytestmark = pytest.mark.e2e

# The chart before the release pipeline (`git archive 21fdcb7 charts/llm-operator`): the
# previous release until the first tag exists, kept in the tree so a shallow clone has it.
BASELINE_CHART = Path(__file__).parent / "previous" / "llm-operator-21fdcb7.tar.gz"
EXAMPLES = [
    REPO / "examples" / "mistral-7b-inference-components.yaml",
    REPO / "examples" / "lora-adapters.yaml",
]
READS = ("Describe", "List", "Search")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def previous_release() -> str | None:
    """The newest `v*` tag behind HEAD (not HEAD's own); None before the first tag, or in
    a clone that carries no tags, where the packaged BASELINE chart stands for it."""
    head = git("rev-parse", "HEAD")
    for tag in git("tag", "--merged", "HEAD", "--list", "v*", "--sort=-v:refname").split():
        if git("rev-parse", f"{tag}^{{commit}}") != head:
            return tag
    return None


def next_version(previous: str) -> str:
    """The tree's version, or, while it still equals the previous release's, the next
    patch as a release candidate: the version a tag of the tree would carry."""
    current = release.version()
    if current != previous:
        return current
    major, minor, patch = (int(p) for p in re.findall(r"\d+", previous)[:3])
    return f"{major}.{minor}.{patch + 1}-rc.0"


@dataclass(frozen=True)
class Helm:
    """One Helm major, pointed at the module's control plane."""

    binary: Path
    kubeconfig: Path

    def __call__(self, *args: str, stderr: bool = False) -> str:
        """Its standard output (with `stderr`, followed by its standard error)."""
        result = subprocess.run(
            [str(self.binary), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{self.binary.name} {' '.join(args)}: {result.stderr}"
        return result.stdout + (result.stderr if stderr else "")


@dataclass(frozen=True)
class Charts:
    registry: str  # host:port
    previous_version: str
    previous: str  # oci:// reference of the previous release's chart
    version: str
    current: str  # oci:// reference of the tree's chart
    push_output: str  # what Helm 4 printed when pushing the current chart


@pytest.fixture(scope="module")
def control_plane() -> Iterator[LocalCluster]:
    """A control plane with nothing installed: the charts bring their CRDs."""
    with LocalCluster(binaries.ensure(tools=("helm4", "crane")).bin_dir) as c:
        yield c


@pytest.fixture(scope="module")
def helm3(control_plane: LocalCluster) -> Helm:
    return Helm(control_plane.binaries.helm, control_plane.kubeconfig)


@pytest.fixture(scope="module")
def helm4(control_plane: LocalCluster) -> Helm:
    return Helm(control_plane.binaries.helm4, control_plane.kubeconfig)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`crane registry serve` on a free loopback port, holding what is pushed in memory."""
    root = tmp_path_factory.mktemp("registry")
    log = root / "crane.log"
    crane = binaries.ensure(tools=("crane",)).crane
    address = f"127.0.0.1:{free_port()}"
    proc = processes.spawn([crane, "registry", "serve", "--address", address], log=log)

    def serving() -> bool:
        assert proc.poll() is None, log.read_text()
        return "serving on port" in log.read_text()

    try:
        wait_for(serving, what="crane registry serve to listen", timeout=30, interval=0.05)
        yield address
    finally:
        processes.stop(proc)


@pytest.fixture(scope="module")
def charts(
    registry: str, helm3: Helm, helm4: Helm, tmp_path_factory: pytest.TempPathFactory
) -> Charts:
    """The previous release's chart (its tag's, else BASELINE_CHART) packaged and pushed
    with Helm 3, the tree's packaged as the release workflow does (scripts/release.py)
    and pushed with Helm 4."""
    root = tmp_path_factory.mktemp("charts")
    tag = previous_release()
    archive = BASELINE_CHART
    if tag is not None:
        archive = root / "previous.tar"
        git("archive", "--output", str(archive), tag, "charts/llm-operator")
    with tarfile.open(archive) as tar:
        tar.extractall(root / "previous", filter="data")
    previous_dir = root / "previous" / "charts" / "llm-operator"
    previous_version = str(yaml.safe_load((previous_dir / "Chart.yaml").read_text())["version"])
    helm3("package", str(previous_dir), "--destination", str(root / "dist-previous"))
    (previous_tgz,) = (root / "dist-previous").glob("*.tgz")
    helm3("push", str(previous_tgz), f"oci://{registry}/previous", "--plain-http")

    version = next_version(previous_version)
    current_tgz = release.package_chart(
        helm4.binary, root / "dist", release=version, image_repository=f"{registry}/operator"
    )
    pushed = helm4(
        "push", str(current_tgz), f"oci://{registry}/charts", "--plain-http", stderr=True
    )
    return Charts(
        registry=registry,
        previous_version=previous_version,
        previous=f"oci://{registry}/previous/llm-operator",
        version=version,
        current=f"oci://{registry}/charts/llm-operator",
        push_output=pushed,
    )


def test_helm4_push_prints_the_digest_the_release_workflow_signs(
    charts: Charts, helm3: Helm, control_plane: LocalCluster
) -> None:
    """release.yml reads the chart's digest from `helm push`'s `Digest:` line and signs
    that: it is the manifest digest the registry serves for the version."""
    (digest,) = re.findall(r"^Digest: (sha256:[0-9a-f]{64})$", charts.push_output, re.M)
    served = subprocess.run(
        [
            str(control_plane.binaries.crane),
            "digest",
            "--insecure",
            f"{charts.registry}/charts/llm-operator:{charts.version}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert digest == served
    shown = yaml.safe_load(
        helm3("show", "chart", charts.current, "--version", charts.version, "--plain-http")
    )
    assert shown["version"] == shown["appVersion"] == charts.version


def values_file(directory: Path, emulator: Emulator, watched: str) -> Path:
    path = directory / f"values-{uuid.uuid4().hex[:6]}.yaml"
    values = {
        "watch": {"namespaces": [watched]},
        "aws": {"endpointOverrides": {"sagemaker": emulator.url, "sagemakerRuntime": emulator.url}},
        "operator": {"transitionPollSeconds": 1, "resyncSeconds": 30},
        "health": {"port": free_port()},
        "metrics": {"port": free_port()},
    }
    path.write_text(yaml.safe_dump(values))
    return path


def get(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def start_operator(cluster: LocalCluster, namespace: str, log: Path) -> Operator:
    """The Deployment's pod as a local process (started, not yet healthy): its
    environment, under its ServiceAccount, with static credentials standing in for IRSA."""
    (deployment,) = get(cluster, "deployments", "-n", namespace)["items"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    credentials = {k: v for k, v in EMULATOR_AWS_ENV.items() if not k.startswith("AWS_REGION")}
    account = pod["serviceAccountName"]
    operator = Operator(
        kubeconfig=cluster.service_account_kubeconfig(namespace, account),
        log=log,
        env={**credentials, **env, "POD_NAME": "pod-0"},
        inherit_settings=False,
    )
    return operator.start()


def stored(cluster: LocalCluster, namespace: str) -> dict[str, tuple[str, Any]]:
    items = get(cluster, "llmendpoints", "-n", namespace)["items"]
    return {i["metadata"]["name"]: (i["metadata"]["uid"], i["spec"]) for i in items}


def writes(calls: dict[str, int]) -> dict[str, int]:
    return {op: n for op, n in calls.items() if not op.startswith(READS)}


@dataclass
class Installed:
    """One release of the previous chart, installed with one Helm major."""

    helm: Helm
    name: str
    namespace: str  # the operator's
    watched: str  # its LLMEndpoints'
    deployment: dict[str, Any]


def test_upgrade_from_the_previous_release_keeps_running_endpoints(
    charts: Charts,
    helm3: Helm,
    helm4: Helm,
    control_plane: LocalCluster,
    emulators: EmulatorProcesses,
    tmp_path: Path,
) -> None:
    """Helm 3 and Helm 4 side by side, each on a release of its own over one emulator."""
    cluster = control_plane
    emulator = emulators.fresh(delay=0.05)
    releases = []
    for helm in (helm3, helm4):
        suffix = uuid.uuid4().hex[:6]
        name, namespace, watched = f"llmop-{suffix}", f"op-{suffix}", f"llm-{suffix}"
        cluster.kubectl("create", "namespace", watched)
        # The previous release, from its OCI chart.
        helm(
            "install", name, charts.previous, "--version", charts.previous_version,
            "--namespace", namespace, "--create-namespace", "--plain-http",
            "-f", str(values_file(tmp_path, emulator, watched)),
        )  # fmt: skip
        (deployment,) = get(cluster, "deployments", "-n", namespace)["items"]
        releases.append(Installed(helm, name, namespace, watched, deployment))

    # Its operators reconcile two LLMEndpoints each.
    old = [
        start_operator(cluster, r.namespace, tmp_path / f"{r.name}-previous.log") for r in releases
    ]
    try:
        for operator in old:
            operator.wait_healthy()
        for r in releases:
            for example in EXAMPLES:
                cluster.kubectl("apply", "-n", r.watched, "-f", str(example))
        for r in releases:
            cluster.kubectl(
                "wait", "-n", r.watched, "--for=condition=Ready", "--timeout=180s", "llme", "--all"
            )
    finally:
        for operator in old:
            operator.stop()
    objects = {r.watched: stored(cluster, r.watched) for r in releases}
    assert all(len(found) == len(EXAMPLES) for found in objects.values())
    calls = emulator.admin_client.calls()

    # The upgrade, as docs/install.md gives it: the CRDs (once), then each release;
    # Helm 3's with --reuse-values, as the guides said before (the new chart's values
    # are then missing from the release's, and its templates must render without them).
    crds = helm4("show", "crds", charts.current, "--version", charts.version, "--plain-http")
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=crds)
    for r, values in zip(releases, ("--reuse-values", "--reset-then-reuse-values"), strict=True):
        r.helm(
            "upgrade", r.name, charts.current, "--version", charts.version,
            "--namespace", r.namespace, values, "--plain-http",
        )  # fmt: skip

    # The CRDs are the new chart's.
    for crd in yaml.safe_load_all(crds):
        if crd and crd["metadata"]["name"].endswith(".llmoperator.io"):
            served = get(cluster, "crd", crd["metadata"]["name"])
            wanted = {v["name"]: v["schema"] for v in crd["spec"]["versions"]}
            assert {v["name"]: v["schema"] for v in served["spec"]["versions"]} == wanted
    for r in releases:
        # The stored objects are the same objects.
        assert stored(cluster, r.watched) == objects[r.watched]
        # The Deployment rolls to the new release's image, with the same selector.
        (after,) = get(cluster, "deployments", "-n", r.namespace)["items"]
        assert after["metadata"]["generation"] > r.deployment["metadata"]["generation"]
        assert after["spec"]["selector"] == r.deployment["spec"]["selector"]
        (container,) = after["spec"]["template"]["spec"]["containers"]
        assert container["image"].endswith(f":{charts.version}")
        history = json.loads(r.helm("history", r.name, "-n", r.namespace, "-o", "json"))[-1]
        assert history["status"] == "deployed"
        assert history["chart"] == f"llm-operator-{charts.version}"

    # The new operators take over: every LLMEndpoint passes, Ready, with no write.
    new = [
        start_operator(cluster, r.namespace, tmp_path / f"{r.name}-current.log") for r in releases
    ]
    try:
        for operator in new:
            operator.wait_healthy()
        wait_for(
            lambda: all(
                op.metric("llmop_reconciles_total", result="settled") >= len(EXAMPLES) for op in new
            ),
            what="the upgraded operators to settle every LLMEndpoint",
            timeout=120,
            diagnose=lambda: "\n".join(op.log_tail() for op in new),
        )
        for r in releases:
            cluster.kubectl(
                "wait", "-n", r.watched, "--for=condition=Ready", "--timeout=60s", "llme", "--all"
            )
        assert writes(emulator.admin_client.calls()) == writes(calls)
        for operator in new:
            assert "Traceback" not in operator.logs()
    finally:
        for operator in new:
            operator.stop()


@pytest.mark.parametrize("major", ["helm3", "helm4"])
def test_install_from_oci_then_uninstall_keeps_crds_and_endpoints(
    major: str, request: pytest.FixtureRequest, charts: Charts, control_plane: LocalCluster
) -> None:
    """A fresh install of the release from its OCI chart; uninstalling removes the
    operator, never the CRDs nor the LLMEndpoints in them (docs/install.md)."""
    helm: Helm = request.getfixturevalue(major)
    cluster = control_plane
    namespace, name = f"fresh-{uuid.uuid4().hex[:6]}", f"r{uuid.uuid4().hex[:6]}"
    helm(
        "install", name, charts.current, "--version", charts.version,
        "--namespace", namespace, "--create-namespace", "--plain-http",
    )  # fmt: skip
    (deployment,) = get(cluster, "deployments", "-n", namespace)["items"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # The repository the release pushed its image to, at the release's version.
    assert container["image"] == f"{charts.registry}/operator:{charts.version}"
    endpoints = len(get(cluster, "llmendpoints", "--all-namespaces")["items"])
    helm("uninstall", name, "--namespace", namespace)
    assert get(cluster, "deployments", "-n", namespace)["items"] == []
    for crd in ("llmendpoints.llmoperator.io", "llmendpointpolicies.llmoperator.io"):
        cluster.kubectl("get", "crd", crd)
    assert len(get(cluster, "llmendpoints", "--all-namespaces")["items"]) == endpoints
