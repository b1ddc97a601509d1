"""SIGTERM / SIGINT during training: stop at the current step, save it, say how to go on.

A cluster scheduler pre-empts with SIGTERM, a user with Ctrl-C (SIGINT). Single process, the
step in progress is abandoned at once (nothing of it reaches the weights before
optimizer.step, so the checkpoint of the last completed step is exact); under DDP every rank
only raises a flag and the ranks agree to stop at the next step boundary, so no collective is
left half-done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import click

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Abandon(Exception):
    """Raised inside an abandonable block when a stop signal arrives."""


class Interrupted(click.ClickException):
    """The run stopped on a signal after saving; exits 128 + the signal (143 / 130)."""

    def __init__(self, signum: int, step: int, saved: Path, out: Path) -> None:
        name = signal.Signals(signum).name
        super().__init__(
            f"train: {name} at step {step}: checkpoint saved to {saved}; "
            f"go on with: srraw train --out {out} --resume"
        )
        self.exit_code = 128 + signum

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


class StopSignals:
    """Context manager: while inside, SIGTERM and SIGINT set `signum` instead of killing."""

    def __init__(self, abandon: bool) -> None:
        self.signum: int | None = None
        self.abandon = abandon  # may a step in progress be abandoned (single process)?
        self._inside = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if first and self.abandon and self._inside:
            raise Abandon

    @contextlib.contextmanager
    def abandonable(self) -> Iterator[None]:
        """Work that may be dropped on a signal (loading, forward, backward)."""
        if self.abandon and self.signum is not None:
            raise Abandon
        self._inside = True
        try:
            yield
        finally:
            self._inside = False

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # signals go to it only
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
