"""`llm-operator` under tracemalloc, for `operator_scale.py --tracemalloc`.

    python bench/traced_operator.py SNAPSHOT run --all-namespaces --standalone

Runs the operator's command line with tracemalloc on from the first import; on
SIGUSR1 it writes a snapshot of every Python allocation still held to SNAPSHOT
(written to SNAPSHOT.tmp, then renamed, so a reader never sees half of it).
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from types import FrameType


def main() -> None:
    target = sys.argv[1]
    tracemalloc.start(1)

    def dump(signum: int, frame: FrameType | None) -> None:
        tracemalloc.take_snapshot().dump(target + ".tmp")
        os.replace(target + ".tmp", target)

    signal.signal(signal.SIGUSR1, dump)
    from llm_operator.cli import main as cli

    cli(sys.argv[2:])


if __name__ == "__main__":
    main()
