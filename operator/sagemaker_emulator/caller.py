"""Who is calling: the account and region a request lives in."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Caller:
    """The namespace a request lives in: like AWS, accounts and regions never see each other."""

    account: str
    region: str
