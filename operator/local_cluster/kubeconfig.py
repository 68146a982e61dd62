"""Kubeconfig files for the local cluster, with credentials embedded.

Embedding the PEM data keeps a kubeconfig usable on its own (copied, exported
to another shell) for as long as the cluster runs.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "local-cluster"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def render(
    *,
    server: str,
    ca_cert: Path,
    user: dict[str, Any],
    namespace: str = "default",
) -> dict[str, Any]:
    """A one-cluster, one-user, one-context kubeconfig as a dict."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [{"name": CONTEXT, "user": user}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def client_cert_user(cert: Path, key: Path, *, impersonate: str | None = None) -> dict[str, Any]:
    """A user entry authenticating with a client certificate, optionally impersonating.

    `as:` is honoured by kubectl and client-go; the Python kubernetes client (and
    so kopf) ignores it, which is why service_account_user exists too.
    """
    user: dict[str, Any] = {
        "client-certificate-data": _b64(cert),
        "client-key-data": _b64(key),
    }
    if impersonate is not None:
        user["as"] = impersonate
    return user


def token_user(token: str) -> dict[str, Any]:
    """A user entry with a bearer token (a ServiceAccount's, from TokenRequest)."""
    return {"token": token}


def write(path: Path, config: dict[str, Any]) -> Path:
    """Write a kubeconfig readable only by its owner (it holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
