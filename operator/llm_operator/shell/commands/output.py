"""Tables for people, JSON for scripts, a progress bar only when a terminal watches."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, like kubectl get."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)


def dump_json(value: Any, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


class Progress:
    """`[#####.....] 5/10 what` on stderr, redrawn in place; silent without a terminal."""

    def __init__(self, total: int, what: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.total = max(total, 1)
        self.done = 0
        self.what = what

    def step(self, note: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = width * min(self.done, self.total) // self.total
        bar = "#" * filled + "." * (width - filled)
        line = f"\r[{bar}] {self.done}/{self.total} {self.what} {note}"
        self.stream.write(line[:120].ljust(80))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 120 + "\r")
            self.stream.flush()
