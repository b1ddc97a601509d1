"""What the photographer reads: guide lines, one status line per frame, a progress bar.

On a terminal the zoom guide updates in place on the progress bar; in a log (stdout not a
TTY) it prints a line when the reading changes by a millimetre or more, at most every 0.5 s.
Lines starting `<sequence> frame i/n` are stable: scripts and tests parse them.
"""

from __future__ import annotations

import select
import sys
import time

import click

from srraw_capture.plan import Shot, fmt_shutter, zoom_direction


def fmt_mm(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}".removesuffix(".0")


def guide_text(asked_mm: float, now_mm: float | None, within: bool) -> str:
    """'turn the zoom to 70 mm: now 52 mm (turn longer (tele))' or 'hold still: 70.2 mm'."""
    if now_mm is None:
        return f"turn the zoom to {fmt_mm(asked_mm)} mm (the body does not report it)"
    if within:
        return f"hold still: {fmt_mm(now_mm)} mm"
    return (
        f"turn the zoom to {fmt_mm(asked_mm)} mm: now {fmt_mm(now_mm)} mm "
        f"(turn {zoom_direction(asked_mm, now_mm)})"
    )


def frame_label(sequence: str, frame: int, count: int, attempt: int = 1) -> str:
    label = f"{sequence} frame {frame}/{count}"
    return label + (f" (attempt {attempt})" if attempt > 1 else "")


def shot_text(shot: Shot | None) -> str:
    if shot is None:
        return ""
    parts = []
    if shot.exposure_time_s:
        parts.append(fmt_shutter(shot.exposure_time_s))
    if shot.f_number:
        parts.append(f"f/{shot.f_number:g}")
    if shot.iso:
        parts.append(f"ISO {shot.iso}")
    return " ".join(parts)


def status_line(
    label: str,
    asked_mm: float,
    camera_mm: float | None,
    shot: Shot | None,
    sizes: dict[str, int],
    seconds: float,
    note: str = "ok",
) -> str:
    """One line per frame: asked / camera / EXIF focal length, exposure, files, time."""
    files = "+".join(k.upper() for k in ("raw", "jpeg") if k in sizes)
    kb = sum(sizes.values()) / 1000
    return (
        f"{label}: {fmt_mm(asked_mm)} mm asked, camera {fmt_mm(camera_mm)} mm, "
        f"EXIF {fmt_mm(shot.focal_mm if shot else None)} mm; {shot_text(shot)}; "
        f"{files} {kb:.0f} kB; {note} ({seconds:.2f} s)"
    )


def session_summary(sequences: list, orphans: list[str], captures: object) -> list[str]:
    """The end of a session: per sequence its frames on disk (not only this run's), retakes and
    field-check verdict; what interrupted captures left on the card; the dataset total."""
    lines = ["summary:"]
    for seq in sequences:
        lines.append(
            f"  {seq.name}: {seq.ok_count()} of {len(seq.frames)} frames on disk, "
            f"{seq.retakes} retake(s), verdict: {seq.verdict()}"
        )
    if orphans:
        lines.append(f"  card: {len(orphans)} file(s) left there by an interrupted capture")
    on_disk = sum(seq.ok_count() for seq in sequences)
    retakes = sum(seq.retakes for seq in sequences)
    lines.append(
        f"capture: {len(sequences)} sequence(s), {on_disk} frame(s) on disk, {retakes} "
        f"retake(s) -> {captures}"
    )
    return lines


class Console:
    """Prints lines, runs the progress bar, shows the live zoom guide, asks questions."""

    def __init__(self, interactive: bool, tty: bool | None = None) -> None:
        self.interactive = interactive
        self.tty = sys.stdout.isatty() if tty is None else tty
        self.bar = None
        self._guide_last: tuple[str, float] | None = None

    def line(self, text: str) -> None:
        if self.bar is not None and self.tty:
            self.bar.write(text)
        else:
            click.echo(text)
            sys.stdout.flush()

    def open_bar(self, sequence: str, total: int, done: int) -> None:
        from tqdm import tqdm

        self.close_bar()
        self.bar = tqdm(
            total=total,
            initial=done,
            desc=f"sequence {sequence}",
            unit="frame",
            disable=not self.tty,
            file=sys.stdout,
            leave=True,
            bar_format="{desc}: {n_fmt}/{total_fmt} frames |{bar:20}| {postfix}",
        )

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str("")
            self.bar.close()
            self.bar = None

    def guide_start(self, label: str, text: str) -> None:
        """The first guide line of a frame attempt (always printed: scripts wait for it)."""
        self._guide_last = (text, time.monotonic())
        self.line(f"{label}: {text}")

    def guide(self, text: str) -> None:
        """A live update of the guide."""
        if self.tty and self.bar is not None and not self.bar.disable:
            self.bar.set_postfix_str(text)
            return
        now = time.monotonic()
        if self._guide_last is not None:
            last, when = self._guide_last
            if last == text or now - when < 0.5:
                return
        self._guide_last = (text, now)
        self.line(f"  ... {text}")

    def confirm(self, question: str, default: bool = False) -> bool:
        """Ask yes/no (interactive only; the non-interactive answer is the default)."""
        if not self.interactive:
            return default
        self.close_bar()
        while True:  # as click.confirm, through _read_line
            click.echo(f"{question} [{'Y/n' if default else 'y/N'}]: ", nl=False)
            answer = _read_line().strip().lower()
            if not answer:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            click.echo("Error: invalid input")

    def wait_enter(self, prompt: str) -> bool:
        """Wait for Enter (True) or 'q' (False); non-interactive: True at once."""
        if not self.interactive:
            return True
        self.close_bar()
        click.echo(f"{prompt}: ", nl=False)
        answer = _read_line()
        return answer.strip().lower() not in ("q", "quit", "n", "no")


def _read_line() -> str:
    """A line from stdin; EOF and Ctrl-C raise KeyboardInterrupt (the session's interrupt path).

    Waits in short selects rather than one blocking read: the kernel may hand a Ctrl-C to
    another thread of the process (numpy's BLAS pool), and then only a main thread that wakes
    up notices it; a read() blocked on the terminal would wait for ever (seen in tests).
    """
    # A terminal hands over one line per read, so nothing waits unseen in Python's buffer.
    while sys.stdin.isatty() and not select.select([sys.stdin], [], [], 0.2)[0]:
        pass
    line = sys.stdin.readline()
    if not line:
        raise KeyboardInterrupt
    return line.rstrip("\n")
