"""LocalCluster: etcd and kube-apiserver on loopback, started the way envtest starts them.

There is no kubelet, scheduler or kube-controller-manager: what lives in the API
server works (CRDs, CEL validation, status subresources, finalizers, RBAC,
impersonation, TokenRequest, watches); what controllers do does not happen
(garbage collection, namespace deletion, default ServiceAccounts, Pods).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from local_cluster import kubeconfig, pki, processes
from local_cluster.binaries import Binaries, ensure
from local_cluster.ports import free_port
from local_cluster.waiting import wait_for

_POLL_SECONDS = 0.1
_WORKDIR_PREFIX = "local-cluster-"
_OWNER_FILE = "owner.pid"


class ClusterError(RuntimeError):
    """The control plane did not start, or a command against it failed."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _sweep_stale_workdirs() -> None:
    """Remove temp dirs of clusters whose owner died without cleaning up (SIGKILL)."""
    for d in Path(tempfile.gettempdir()).glob(f"{_WORKDIR_PREFIX}*"):
        try:
            owner = int((d / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            continue


# Metadata (who, verb, resource, user agent; no bodies) of every request once it is
# answered, except the API server's own loopback traffic.
_AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: None
    users: ["system:apiserver"]
  - level: Metadata
"""


class LocalCluster:
    """A throwaway control plane; use as a context manager or call start()/stop().

    `kubeconfig` authenticates as an admin in system:masters;
    `service_account_kubeconfig()` and `impersonating_kubeconfig()` give a
    ServiceAccount's view, so RBAC can be tested for real.
    """

    def __init__(
        self,
        bin_dir: Path | None = None,
        *,
        workdir: Path | None = None,
        kubectl: str | None = None,
        startup_timeout: float = 90.0,
        audit: bool = False,
    ) -> None:
        """`audit`: kube-apiserver writes every request's metadata (user, verb, resource,
        user agent) to `audit_log`, read back with `audit_events()`, so a test can
        prove what a program did or did not ask the API server to do."""
        self._binaries = Binaries(bin_dir) if bin_dir is not None else None
        self._own_workdir = workdir is None
        if workdir is None:
            _sweep_stale_workdirs()
            workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
            (workdir / _OWNER_FILE).write_text(str(os.getpid()))
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.kubectl_path = (
            kubectl or os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"
        )
        self.startup_timeout = startup_timeout
        self.audit = audit
        self.etcd_port = 0
        self.apiserver_port = 0
        self.startup_seconds = 0.0
        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._pki: pki.Pki | None = None
        self._ssl: ssl.SSLContext | None = None

    # -- public surface -------------------------------------------------------------

    @property
    def binaries(self) -> Binaries:
        if self._binaries is None:
            self._binaries = ensure()
        return self._binaries

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def kubectl_cache(self) -> Path:
        """kubectl's discovery and HTTP cache for this cluster (`--cache-dir`)."""
        return self.workdir / "kubectl-cache"

    @property
    def running(self) -> bool:
        return self._apiserver is not None and self._apiserver.poll() is None

    @property
    def pids(self) -> list[int]:
        """Process ids of the running etcd and kube-apiserver."""
        return [p.pid for p in (self._etcd, self._apiserver) if p is not None and p.poll() is None]

    @property
    def apiserver_log(self) -> Path:
        return self.workdir / "kube-apiserver.log"

    @property
    def etcd_log(self) -> Path:
        return self.workdir / "etcd.log"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    def audit_events(self, *, user: str | None = None) -> list[dict[str, Any]]:
        """The audit log's events (ResponseComplete stage), optionally of one user only."""
        if not self.audit:
            raise ClusterError("this cluster was started without audit=True")
        events: list[dict[str, Any]] = []
        try:
            text = self.audit_log.read_text()
        except FileNotFoundError:
            return events
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            if user is None or (event.get("user") or {}).get("username") == user:
                events.append(event)
        return events

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Start etcd, then kube-apiserver, and return once /readyz says ok."""
        began = time.monotonic()
        try:
            missing = [n for n in self.binaries.missing() if n != "helm"]
            if missing:
                raise ClusterError(f"missing binaries in {self.binaries.bin_dir}: {missing}")
            self._pki = pki.generate(self.workdir / "pki")
            self._ssl = ssl.create_default_context(cafile=str(self._pki.ca_cert))
            self._ssl.load_cert_chain(str(self._pki.admin_cert), str(self._pki.admin_key))
            self._start_etcd()
            self.apiserver_port = free_port()
            self._start_apiserver()
            kubeconfig.write(
                self.kubeconfig,
                kubeconfig.render(
                    server=self.server,
                    ca_cert=self._pki.ca_cert,
                    user=kubeconfig.client_cert_user(self._pki.admin_cert, self._pki.admin_key),
                ),
            )
        except BaseException as e:
            self.stop(remove_workdir=False)
            e.add_note(f"logs kept in {self.workdir}")
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self, *, remove_workdir: bool | None = None) -> None:
        """Stop the API server, then etcd; remove the temp dir unless it was given."""
        if self._apiserver is not None:
            processes.stop(self._apiserver)
            self._apiserver = None
        if self._etcd is not None:
            processes.stop(self._etcd)
            self._etcd = None
        if remove_workdir if remove_workdir is not None else self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self, *, graceful: bool = True) -> None:
        """Stop kube-apiserver and start it again on the same port with the same etcd."""
        if self._apiserver is not None:
            if graceful:
                processes.stop(self._apiserver, timeout=30.0)
            else:
                processes.kill(self._apiserver)
            self._apiserver = None
        self._start_apiserver()

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig_path: Path | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster (admin unless told otherwise).

        Its discovery cache lives and goes with this cluster's temp dir, not in
        ~/.kube/cache, where every throwaway cluster would leave its own.
        """
        argv = [
            self.kubectl_path,
            "--kubeconfig",
            str(kubeconfig_path or self.kubeconfig),
            "--cache-dir",
            str(self.kubectl_cache),
            *args,
        ]
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def wait_established(self, *crds: str, timeout: float = 60.0) -> None:
        """Wait until each CRD (`crd/NAME`) is Established. `kubectl wait` fails at once,
        instead of waiting, when it reads a CRD before the API server wrote any condition
        (".status.conditions accessor error"), which a busy machine makes likely: retry."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 1.0)
            result = self.kubectl(
                "wait",
                "--for=condition=Established",
                f"--timeout={int(left)}s",
                *crds,
                check=False,
                timeout=left + 10,
            )
            if result.returncode == 0:
                return
            if "accessor error" not in result.stderr or time.monotonic() > deadline:
                raise ClusterError(
                    f"kubectl wait --for=condition=Established {' '.join(crds)} failed "
                    f"({result.returncode}): {result.stderr.strip()}"
                )
            time.sleep(0.2)

    def wait_until_allowed(
        self,
        user: str,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Block until RBAC grants `user` the verb (the authorizer's cache lags an apply).

        Start a program under freshly applied RBAC only after this, or its first
        calls may be refused.
        """
        scope = ["-n", namespace] if namespace else ["--all-namespaces"]
        wait_for(
            lambda: (
                self.kubectl(
                    "auth", "can-i", verb, resource, f"--as={user}", *scope, check=False
                ).stdout.strip()
                == "yes"
            ),
            what=f"RBAC to allow {user} to {verb} {resource}",
            timeout=timeout,
            error=ClusterError,
        )

    def impersonating_kubeconfig(self, namespace: str, name: str, path: Path | None = None) -> Path:
        """A kubeconfig whose admin identity impersonates system:serviceaccount:NS:NAME.

        kubectl and client-go honour it; the Python kubernetes client does not
        (use service_account_kubeconfig for Python programs).
        """
        assert self._pki is not None, "cluster not started"
        return kubeconfig.write(
            path or self.workdir / f"kubeconfig-as-{namespace}-{name}",
            kubeconfig.render(
                server=self.server,
                ca_cert=self._pki.ca_cert,
                namespace=namespace,
                user=kubeconfig.client_cert_user(
                    self._pki.admin_cert,
                    self._pki.admin_key,
                    impersonate=f"system:serviceaccount:{namespace}:{name}",
                ),
            ),
        )

    def service_account_kubeconfig(
        self, namespace: str, name: str, path: Path | None = None, *, duration: str = "24h"
    ) -> Path:
        """A kubeconfig with a TokenRequest token of an existing ServiceAccount.

        This is exactly what a Pod running under that ServiceAccount would get, and
        works with every client library.
        """
        assert self._pki is not None, "cluster not started"
        token = self.kubectl(
            "create", "token", name, "-n", namespace, f"--duration={duration}"
        ).stdout.strip()
        return kubeconfig.write(
            path or self.workdir / f"kubeconfig-sa-{namespace}-{name}",
            kubeconfig.render(
                server=self.server,
                ca_cert=self._pki.ca_cert,
                namespace=namespace,
                user=kubeconfig.token_user(token),
            ),
        )

    def get(self, path: str, *, timeout: float = 5.0) -> tuple[int, str]:
        """GET an API path as admin; returns (HTTP status, body)."""
        return self.request("GET", path, timeout=timeout)

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float = 5.0
    ) -> tuple[int, str]:
        """One API request as admin, `body` sent as JSON; returns (HTTP status, body).

        A single HTTPS request where a kubectl would be a process: for what tests set
        up and poll many times, not for what they check that kubectl does."""
        assert self._ssl is not None, "cluster not started"
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        request = urllib.request.Request(self.server + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=timeout) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as e:
            return int(e.code), e.read().decode(errors="replace")

    # -- processes ------------------------------------------------------------------

    def _start_etcd(self) -> None:
        for _attempt in range(3):
            self.etcd_port, peer = free_port(), free_port()
            client_url = f"http://127.0.0.1:{self.etcd_port}"
            peer_url = f"http://127.0.0.1:{peer}"
            data_dir = self.workdir / "etcd"
            shutil.rmtree(data_dir, ignore_errors=True)
            self._etcd = processes.spawn(
                [
                    self.binaries.etcd,
                    "--name=default",
                    f"--data-dir={data_dir}",
                    f"--listen-client-urls={client_url}",
                    f"--advertise-client-urls={client_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=default={peer_url}",
                    "--listen-metrics-urls=",
                    "--unsafe-no-fsync",
                    "--log-level=warn",
                ],
                log=self.etcd_log,
            )
            if self._wait(self._etcd_healthy, self._etcd, "etcd"):
                return
            processes.stop(self._etcd)
            self._etcd = None
        raise ClusterError(f"etcd did not start; last log lines:\n{_tail(self.etcd_log)}")

    def _etcd_healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.etcd_port}/health"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(json.loads(response.read()).get("health") == "true")
        except (OSError, ValueError):
            return False

    def _apiserver_argv(self) -> list[str | os.PathLike[str]]:
        assert self._pki is not None
        p = self._pki
        return [
            self.binaries.kube_apiserver,
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.apiserver_port}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={p.serving_cert}",
            f"--tls-private-key-file={p.serving_key}",
            f"--client-ca-file={p.ca_cert}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={p.sa_public_key}",
            f"--service-account-signing-key-file={p.sa_signing_key}",
            "--endpoint-reconciler-type=none",
            *self._audit_flags(),
        ]

    def _audit_flags(self) -> list[str]:
        if not self.audit:
            return []
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(_AUDIT_POLICY)
        return [
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--audit-log-maxbackup=1",
        ]

    def _start_apiserver(self) -> None:
        self._apiserver = processes.spawn(self._apiserver_argv(), log=self.apiserver_log)
        if not self._wait(self._apiserver_ready, self._apiserver, "kube-apiserver"):
            raise ClusterError(
                f"kube-apiserver not ready on {self.server}; last log lines:\n"
                f"{_tail(self.apiserver_log)}"
            )

    def _apiserver_ready(self) -> bool:
        try:
            status, _ = self.get("/readyz")
        except (OSError, ssl.SSLError):
            return False
        return status == 200

    def _wait(
        self,
        condition: Callable[[], bool],
        proc: subprocess.Popen[bytes],
        what: str,
    ) -> bool:
        """Poll `condition` until true; False if the process exits or time runs out."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if proc.poll() is not None:
                return False
            time.sleep(_POLL_SECONDS)
        with contextlib.suppress(Exception):
            processes.stop(proc)
        raise ClusterError(f"{what} not ready after {self.startup_timeout:.0f} s")


def run_kubectl(
    argv: Sequence[str], kubeconfig_path: Path, *, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl against any kubeconfig (the demo uses it for a real cluster too)."""
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl") or "kubectl"
    return subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig_path), *argv],
        input=input,
        capture_output=True,
        text=True,
        check=False,
    )
