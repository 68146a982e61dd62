"""How fast the emulated model generates: the time between two tokens.

On AWS a 7-8B model on one GPU decodes one request at roughly 50 tokens a second;
the emulator stands for that with AWS_SECONDS_PER_TOKEN, scaled like every AWS
duration it simulates (one --delay stands for 300 AWS seconds), unless a token time
is set (--token-time, POST /_emulator/token-time), which is used as it is.
"""

from __future__ import annotations

from .deployments import AWS_SECONDS_PER_DELAY
from .state import Store

AWS_SECONDS_PER_TOKEN = 0.02


def seconds_per_token(store: Store) -> float:
    """The emulator's seconds between two generated tokens (lock held or not: two reads)."""
    if store.token_time is not None:
        return store.token_time
    return AWS_SECONDS_PER_TOKEN * store.delay / AWS_SECONDS_PER_DELAY
