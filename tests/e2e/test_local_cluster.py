"""The local control plane itself: what the other end-to-end tests stand on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local_cluster.binaries import Binaries
from local_cluster.cluster import LocalCluster
from local_cluster.ports import free_port
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.operator_fixtures import OperatorIdentity

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    """True while pid is a live process (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_server_reports_pinned_version_and_admin_is_cluster_admin(kubectl: Kubectl) -> None:
    version = kubectl.json("version")
    assert version["serverVersion"]["gitVersion"] == "v1.33.13"
    assert kubectl("auth", "can-i", "*", "*", "--all-namespaces").stdout.strip() == "yes"


def test_objects_survive_an_apiserver_restart(cluster: LocalCluster, kubectl: Kubectl) -> None:
    kubectl("create", "configmap", "keep-me", "--from-literal=k=v")
    cluster.restart_apiserver(graceful=False)
    assert kubectl.json("get", "configmap", "keep-me")["data"] == {"k": "v"}


def test_chart_service_account_is_held_to_the_charts_rbac(
    cluster: LocalCluster, operator_identity: OperatorIdentity, namespace: str
) -> None:
    token = Kubectl(cluster, namespace, operator_identity.kubeconfig)
    impersonating = Kubectl(
        cluster,
        namespace,
        cluster.impersonating_kubeconfig(operator_identity.namespace, operator_identity.name),
    )
    for identity in (token, impersonating):
        whoami = identity.json("auth", "whoami")["status"]["userInfo"]["username"]
        assert (
            whoami
            == f"system:serviceaccount:{operator_identity.namespace}:{operator_identity.name}"
        )
        # Granted by the chart: what the operator needs ...
        assert (
            identity("auth", "can-i", "patch", "llmendpoints.llmoperator.io").stdout.strip()
            == "yes"
        )
        # ... and nothing it does not.
        denied = identity("auth", "can-i", "delete", "pods", check=False)
        assert denied.stdout.strip() == "no"
        forbidden = identity("get", "configmaps", check=False)
        assert forbidden.returncode != 0 and "Forbidden" in forbidden.stderr


def test_stop_leaves_no_process_and_no_temp_dir(cluster_binaries: Binaries) -> None:
    with LocalCluster(cluster_binaries.bin_dir) as c:
        pids = c.pids
        assert len(pids) == 2
        workdir = c.workdir
        assert all(_alive(p) for p in pids)
        c.kubectl("get", "namespaces")
        # kubectl's discovery cache is the cluster's, not one more entry in ~/.kube/cache.
        assert any(c.kubectl_cache.rglob("*.json"))
        assert c.kubectl_cache.is_relative_to(workdir)
    assert not any(_alive(p) for p in pids)
    assert not workdir.exists()


def test_control_plane_dies_with_a_killed_parent(
    cluster_binaries: Binaries, tmp_path: Path
) -> None:
    """SIGKILL leaves no time for cleanup: PR_SET_PDEATHSIG must take the children down."""
    pid_file = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from local_cluster.cluster import LocalCluster
        c = LocalCluster(pathlib.Path({str(cluster_binaries.bin_dir)!r})).start()
        pathlib.Path({str(pid_file)!r}).write_text(" ".join(map(str, c.pids)))
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        wait_for(lambda: pid_file.exists() and pid_file.read_text(), timeout=90, what="cluster up")
        pids = [int(p) for p in pid_file.read_text().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        wait_for(
            lambda: not any(_alive(p) for p in pids),
            timeout=30,
            what="etcd and kube-apiserver to exit after their parent was killed",
        )
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_free_ports_are_never_handed_out_twice_across_processes(tmp_path: Path) -> None:
    """Parallel test workers each start servers on free ports: a port one process was
    given and has not bound yet must not be given to another (draws this many from the
    kernel alone repeat a port almost surely)."""
    draws = 250
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import pathlib, sys\n"
            "from local_cluster.ports import free_port\n"
            f"print(*(free_port(pathlib.Path(sys.argv[1])) for _ in range({draws})))",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    mine = [free_port(tmp_path) for _ in range(draws)]
    theirs = [int(p) for p in child.communicate(timeout=60)[0].split()]
    assert child.returncode == 0 and len(theirs) == draws
    assert len(set(mine + theirs)) == 2 * draws
