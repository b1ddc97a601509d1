"""The capture session: connect, set the body, then for each sequence and frame zoom, capture,
download, verify and journal; resume exactly where the journals say the last session stopped.

Order of a frame, and why:
  capture record (journal)  -> the card files are known, so a later session can fetch them
  download to temp names    -> fsynced and hashed in the camera worker
  verify                    -> RAW decodes, EXIF focal and exposure match the plan, else retake
  rename + fsync folder     -> the frame is safely on disk ...
  frame record (journal)    -> ... and known to be: resume skips it from now on
  delete from card          -> only now (or never, with --keep-on-card)
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from srraw.errors import SrrawError
from srraw.files import atomic_write_bytes, relative_to_root
from srraw.rig import Rig
from srraw_capture import aside, body, guide, plan
from srraw_capture.camera import CAPTURE_TIMEOUT, CameraError, CameraInfo, CardFile
from srraw_capture.download import Timer, fetch_file, fetch_frame, remove_stale_temps
from srraw_capture.guide import Console
from srraw_capture.journal import (
    CAPTURES,
    RIGS_KEPT,
    STATE_DIR,
    DatasetLock,
    DatasetState,
    FrameState,
    Journal,
    SequenceState,
    apply,
    load_state,
    new_session_id,
    rebuild_captures,
)
from srraw_capture.plan import (
    STEPPING_VENDORS,
    VENDORS,
    Shot,
    card_target,
    expected_files,
    file_kind,
    vendor_of,
    where_text,
)
from srraw_capture.verify import verify_frame
from srraw_capture.worker import CameraWorker

POLL_S = 0.15  # focal-length polling while guiding
SONY_CARD_AND_SDRAM = 0x11  # StillImageStoreDestination: to the card and to the computer
FIRST_CAPTURE_TIMEOUT_S = 120.0  # a body whose capture time is not known yet
CAPTURE_TIMEOUT_FACTOR = 3.0  # later: this many times its slowest capture (30 s at least)
BATTERY_WARN_PCT = (20, 5)  # said once when the battery first falls to each


@dataclass
class Options:
    rig: Rig
    root: Path
    camera: str | None = None
    scenes: int = 1
    yes: bool = False
    keep_on_card: bool = False
    qa: bool = True
    focal_source: str = "auto"  # auto | camera | exif
    zoom_timeout: float = 300.0
    capture_timeout: float | None = None  # None: from the body's measured capture time
    reconnect_timeout: float = 30.0
    max_attempts: int = 3
    settle_s: float = 0.5  # manual zoom: the reading must stay in tolerance this long
    qa_timeout: float = 600.0
    interactive: bool = True
    reshoot: bool = False  # non-interactive: reshoot (once) a sequence the field check rejects
    fetch_orphans: bool = False  # only fetch what interrupted captures left on the card


class Reconnected(Exception):
    """The link dropped and was re-initialised: the step in progress must be redone."""


@dataclass
class Summary:
    sequences: list[str] = field(default_factory=list)
    frames_ok: int = 0
    retakes: int = 0
    orphans: list[str] = field(default_factory=list)  # card files interrupted captures left
    qa: dict[str, dict] = field(default_factory=dict)
    frame_seconds: list[dict] = field(default_factory=list)  # per-frame timing (benchmark)
    setup_s: float = 0.0  # putting the body on the exposure policy (stepping bodies: seconds)


class Session:
    """One `srraw capture` run on one dataset."""

    def __init__(self, opts: Options, console: Console) -> None:
        self.opts = opts
        self.rig = opts.rig
        self.root = opts.root
        self.console = console
        self.state = DatasetState()
        self.journal: Journal | None = None
        self.session_id = new_session_id()
        log = opts.root / STATE_DIR / f"camera-{self.session_id}.log"
        self.worker = CameraWorker(opts.camera, str(log))
        self.info: CameraInfo | None = None
        self.summary = Summary()
        self.focal_widget = opts.rig.zoom.focal_widget or "focallength"
        self.live_focal = False
        self.vendor: str | None = None  # libgphoto2's vendor path, from DeviceInfo
        self.capture_target: str | None = None
        self._force_exposure = False
        self._reshot: set[str] = set()
        self._battery_said: set[int] = set()
        # EXIF focal minus camera reading, learned from a rejected capture of the same frame
        # (EXIF rounds to whole mm on many bodies): the retake aims the camera reading off it.
        self._bias: dict[tuple[str, int], float] = {}

    # ---- the journal ------------------------------------------------------------------------

    def record(self, kind: str, **fields) -> dict:
        assert self.journal is not None
        rec = self.journal.append(kind, **fields)
        apply(self.state, rec)
        return rec

    # ---- camera I/O with reconnects --------------------------------------------------------

    def call(self, name: str, *args, deadline: float = 30.0):
        """A Camera method in the worker; a dropped link is re-initialised, then Reconnected."""
        try:
            return self.worker.call(name, *args, deadline=deadline)
        except CameraError as exc:
            if not exc.link:
                raise
            self.console.line(f"camera: {exc}; reconnecting")
            self.reconnect()
            raise Reconnected(str(exc)) from None

    def connect(self) -> CameraInfo:
        info = self.worker.call("open", deadline=max(30.0, self.opts.reconnect_timeout))
        self.info = info
        self.vendor = vendor_of(info.manufacturer)
        return info

    def reconnect(self) -> None:
        """Close the link and init again until reconnect_timeout (same body only)."""
        old = self.info
        deadline = time.monotonic() + self.opts.reconnect_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(CameraError):
                self.worker.call("close", deadline=5)
            try:
                info = self.worker.call("open", deadline=max(5.0, deadline - time.monotonic()))
            except CameraError as exc:
                last = exc
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                continue
            if old is not None and old.serial and info.serial and info.serial != old.serial:
                raise SrrawError(
                    f"another camera answered (serial {info.serial}, was {old.serial}); "
                    "reconnect the first body and run again to resume"
                )
            self.info = info
            self.console.line(f"camera: reconnected to {info.model} on {info.port}")
            if self.capture_target is not None:
                # A new camera worker starts from libgphoto2's defaults (Nikon's capture
                # target is a libgphoto2 setting, kept only where ~/.config exists).
                with contextlib.suppress(CameraError):
                    self._use_card_target(self.worker.call)
            return
        self.worker.kill()
        raise SrrawError(
            f"lost the camera ({last}); reconnect it and run the same command again to "
            f"resume ({self._safe_text()})"
        )

    def _safe_text(self) -> str:
        seq = self.state.unfinished()
        if seq is None:
            return "every frame taken so far is on disk"
        return f"sequence {seq.name} has {seq.ok_count()} of {len(seq.frames)} frames on disk"

    # ---- the run ------------------------------------------------------------------------

    def run(self) -> Summary:
        self.root.mkdir(parents=True, exist_ok=True)
        lock = DatasetLock(self.root)
        try:
            self.state = load_state(self.root)
            if moved := aside.finish_moves(self.root, self.state):
                self.console.line(f"finished {moved} folder move(s) an earlier session began")
            if removed := remove_stale_temps(self.root):
                self.console.line(f"removed {removed} partial download(s) of an earlier session")
            self._run()
        except KeyboardInterrupt:
            self._stop("interrupted")
            raise
        except BaseException as exc:
            self._stop(f"error: {exc}")
            raise
        else:
            self._stop("done")
        finally:
            self.console.close_bar()
            self.worker.stop()
            log = Path(self.worker.log or "")
            with contextlib.suppress(OSError):
                if log.is_file() and log.stat().st_size == 0:
                    log.unlink()  # libgphoto2 said nothing this session
            with contextlib.suppress(SrrawError, OSError):
                rebuild_captures(self.root, self.state)
            lock.release()
        return self.summary

    def _stop(self, reason: str) -> None:
        if self.journal is not None:
            with contextlib.suppress(SrrawError):
                self.record("stop", reason=reason)
            self.journal.close()

    def _run(self) -> None:
        opts = self.opts
        self.worker.start()
        try:
            info = self.connect()
        except CameraError as exc:
            raise SrrawError(f"cannot open the camera: {exc.message}", opts.camera) from None
        how = " (the first camera libgphoto2 detected)" if info.autodetected else ""
        self.console.line(f"camera: {info.model} serial {info.serial or '?'} on {info.port}{how}")
        self.journal = Journal(self.root, self.session_id)
        self.record(
            "session",
            rig=self.rig.name,
            camera_model=info.model,
            camera_serial=info.serial,
            port=info.port,
            vendor=self.vendor or "generic",
            vendor_path=self._plain_call("vendor_path"),
        )
        self._list_card()
        if opts.fetch_orphans:
            self._orphans(fetch=True)
            return
        self._settle_card()
        resume = self.state.unfinished(qa=opts.qa)
        if resume is not None:
            self._check_resumable(resume)
        self._setup_body()
        self._battery_check()
        done = 0
        while done < opts.scenes:
            seq = resume or self._new_sequence(done)
            if seq is None:
                break
            resume = None
            self._shoot_sequence(seq)
            done += 1
        self._orphans(fetch=False)
        for line in guide.session_summary(
            [self.state.sequences[name] for name in self.summary.sequences],
            self.summary.orphans,
            self.root / CAPTURES,
        ):
            self.console.line(line)

    def _check_resumable(self, seq: SequenceState) -> None:
        frame = seq.next_frame()
        unfinished = (
            f"sequence {seq.name} is unfinished ({seq.ok_count()} of {len(seq.frames)} frames "
            "on disk)"
        )
        aside_text = f"or set it aside with --abandon {seq.name} (its files are kept)"
        if frame is not None and seq.rig and seq.rig != self.rig.name:
            raise SrrawError(
                f"{unfinished} and was shot with rig '{seq.rig}': resume it with "
                f"--rig {seq.rig}, {aside_text}",
                self.root,
            )
        assert self.info is not None
        serial = self.info.serial
        if frame is not None and seq.camera_serial and serial and seq.camera_serial != serial:
            raise SrrawError(
                f"{unfinished} and was shot on the body with serial {seq.camera_serial}; this "
                f"is {serial}: connect that body to resume it, {aside_text}",
                self.root,
            )
        at = f"frame {frame.frame}" if frame else "its field check"
        self.console.line(
            f"resuming sequence {seq.name} at {at} "
            f"({seq.ok_count()} of {len(seq.frames)} frames on disk)"
        )

    def _say_setting(self, label: str, before: str, target: object) -> None:
        """Before a set: a stepping body takes seconds, so the photographer sees why."""
        if self.vendor in STEPPING_VENDORS:
            self.console.line(
                f"camera: setting {label} {before} -> {target} on the body "
                f"({VENDORS[self.vendor]} bodies may step one value at a time: a few seconds)"
            )

    def _setup_body(self) -> None:
        """Exposure policy on the body; refuse to start with the setting to change."""
        started = time.monotonic()
        reports, warnings = body.apply_policy(self._plain_call, self.rig, say=self._say_setting)
        self.summary.setup_s = time.monotonic() - started
        for text in warnings:
            self.console.line(f"warning: {text}")
        for text in body.changes_text(reports):
            self.console.line(f"camera: set {text}")
        self.capture_target = self._use_card_target()
        plan = self.rig.exposure
        self.console.line(
            f"exposure: M, f/{plan.f_number:g}, {guide.shot_text(Shot(None, plan.exposure_time_s, None, None))}, "
            f"ISO {plan.iso}, {'RAW+JPEG' if plan.raw_plus_jpeg else 'RAW'}"
        )
        source = self.opts.focal_source
        widget = None if source == "exif" else self._plain_call("read_widget", self.focal_widget)
        self.live_focal = widget is not None
        if source == "camera" and widget is None:
            raise SrrawError(
                f"--focal-source camera: the body has no '{self.focal_widget}' widget in libgphoto2"
            )
        if self.rig.zoom.drive == "power":
            zoom = self._plain_call("read_widget", self.rig.zoom.widget)
            if zoom is None or zoom.readonly:
                raise SrrawError(
                    f"the rig drives the zoom through '{self.rig.zoom.widget}', but this body "
                    f"{'has no such widget' if zoom is None else 'reports it read-only'}: "
                    'use a rig with [zoom] drive = "manual"',
                    self.rig.path,
                )
        if not self.live_focal:
            self.console.line(
                "focal length: judged from each frame's EXIF (the body does not report it live)"
            )
        self.record(
            "body_setup",
            changes=body.changes_text(reports),
            setup_s=round(self.summary.setup_s, 3),
            capture_target=self.capture_target,
            live_focal=self.live_focal,
        )

    def _use_card_target(self, call=None) -> str | None:
        """Where the body offers a capture target that keeps a copy on the card, use it.

        `call`: how to reach the worker (default: with reconnects; the plain worker call
        from inside a reconnect)."""
        call = call or self._plain_call
        widget = call("read_widget", "capturetarget")
        want = card_target(widget.choices) if widget is not None else None
        if widget is None or want is None or widget.value == want:
            return None if widget is None else str(widget.value)
        if self.vendor == "sony":
            # libgphoto2's own capturetarget put sends Sony an empty value (config.c gives
            # it no data type); the raw property widget d222 (StillImageStoreDestination)
            # sends the u16: 0x11 is card+sdram.
            setting = ("d222", str(SONY_CARD_AND_SDRAM))
        else:
            setting = ("capturetarget", want)
        with contextlib.suppress(CameraError):
            call("set_widget", *setting)
        after = body.read_back(call, "capturetarget", want)
        if after == want:
            self.console.line(
                f"camera: capture target {widget.value} -> {want} ({where_text(want)})"
            )
        else:
            self.console.line(
                f"warning: the body refused capture target '{want}' (it stays '{after}'): "
                "the frames are only where srraw downloads them"
            )
        return None if after is None else str(after)

    def _plain_call(self, name: str, *args, deadline: float = 30.0):
        """A worker call that retries once across a reconnect (idempotent calls only)."""
        for _ in range(3):
            try:
                return self.call(name, *args, deadline=deadline)
            except Reconnected:
                continue
        return self.call(name, *args, deadline=deadline)

    def _settle_card(self) -> None:
        """Delete card files of frames already on disk whose deletion was not journaled."""
        if self.opts.keep_on_card:
            return
        for seq in self.state.sequences.values():
            for frame in seq.frames.values():
                if frame.ok and frame.card_on_disk:
                    self._delete_card(seq, frame, [CardFile(**c) for c in frame.card_on_disk])

    def _new_sequence(self, index: int) -> SequenceState | None:
        name = self.state.next_name(self.root)
        if self.opts.interactive and not self.opts.yes:
            ok = self.console.wait_enter(
                f"sequence {name}: frame the scene, tripod steady; Enter to start, q to stop"
            )
            if not ok:
                return None
        assert self.info is not None
        self.record(
            "sequence",
            sequence=name,
            rig=self.rig.name,
            rig_file=self._keep_rig(),
            focal_lengths_mm=list(self.rig.focal_lengths_mm),
            camera_model=self.info.model,
            camera_serial=self.info.serial,
        )
        return self.state.sequences[name]

    def _keep_rig(self) -> str | None:
        """A copy of the rig profile in DATASET/.srraw/rigs: `--rig NAME` finds it to resume,
        wherever the original file went."""
        if self.rig.path is None:
            return None
        data = self.rig.path.read_bytes()
        folder = self.root / RIGS_KEPT
        target = folder / f"{self.rig.name}.toml"
        if target.is_file() and target.read_bytes() != data:
            target = folder / f"{self.rig.name}-{hashlib.sha256(data).hexdigest()[:8]}.toml"
        if not target.is_file():
            atomic_write_bytes(target, data)
        return relative_to_root(target, self.root)

    # ---- a sequence ---------------------------------------------------------------------

    def _shoot_sequence(self, seq: SequenceState) -> None:
        while True:
            self.console.open_bar(seq.name, len(seq.frames), seq.ok_count())
            for index in sorted(seq.frames):
                frame = seq.frames[index]
                if not frame.ok:
                    self._shoot_frame(seq, frame)
                    self.console.advance()
                    self._battery_check()
            self.console.close_bar()
            if seq.reshoot_folder is not None:
                self._swap_reshoot(seq)
            if not seq.done:
                self.record("sequence_done", sequence=seq.name, qa_due=self.opts.qa)
            with contextlib.suppress(SrrawError):
                rebuild_captures(self.root, self.state)
            if seq.name not in self.summary.sequences:
                self.summary.sequences.append(seq.name)
            if not self.opts.qa or not self._field_qa(seq):
                return
            folder = f"{aside.RESHOOTS}/{seq.name}-{self.session_id}"
            self.record("reshoot", sequence=seq.name, folder=folder)
            self.console.line(f"reshooting sequence {seq.name}")

    def _swap_reshoot(self, seq: SequenceState) -> None:
        """The reshoot is whole: the first take goes aside (kept), the new one in its place."""
        folder = seq.reshoot_folder
        rejected = f"{aside.REJECTED}/{seq.name}-{self.session_id}"
        self.record("reshoot_swap", sequence=seq.name, folder=folder, aside=rejected)
        aside.finish_moves(self.root, self.state)
        self.console.line(f"{seq.name}: reshoot complete; the first take is kept in {rejected}")

    def _field_qa(self, seq: SequenceState) -> bool:
        """Run the field QA; True when the photographer wants a reshoot."""
        from srraw_capture import qa

        self.console.line(f"{seq.name}: field check (srraw prep at low resolution) ...")
        result = qa.check_sequence(self.root, seq.name, timeout=self.opts.qa_timeout)
        self.record("qa", sequence=seq.name, **result.record())
        self.summary.qa[seq.name] = result.record()
        for text in result.lines():
            self.console.line(f"{seq.name}: {text}")
        if result.usable:
            return False
        reshot = seq.name in self._reshot
        self._reshot.add(seq.name)
        if self.opts.interactive:
            return self.console.confirm(f"reshoot sequence {seq.name}?", default=False)
        return self.opts.reshoot and not reshot

    # ---- a frame ------------------------------------------------------------------------

    def _reference(self, seq: SequenceState) -> Shot | None:
        """The exposure of the sequence's first frame on disk (the sequence must keep it)."""
        for index in sorted(seq.frames):
            row = seq.frames[index].row
            if row is not None:
                return Shot(None, row.get("exposure_time_s"), row.get("f_number"), row.get("iso"))
        return None

    def _shoot_frame(self, seq: SequenceState, frame: FrameState) -> None:
        tries = 0
        reconnects = 0
        while not frame.ok:
            try:
                if frame.card and self._recover(seq, frame):
                    return
                if tries >= self.opts.max_attempts:
                    error = (frame.error or "rejected") + f" ({tries} captures this session)"
                    self.record("frame_failed", sequence=seq.name, frame=frame.frame, error=error)
                    raise SrrawError(
                        f"sequence {seq.name} frame {frame.frame}: {error}; check the camera "
                        "and run the same command again to resume",
                        self.root,
                    )
                tries += 1
                self._take(seq, frame)
            except Reconnected:
                reconnects += 1
                if reconnects > 5:
                    raise SrrawError(
                        f"the camera link keeps dropping; run again to resume ({self._safe_text()})"
                    ) from None

    def _recover(self, seq: SequenceState, frame: FrameState) -> bool:
        """Fetch the frame from the card where a previous attempt left it (link dropped,
        interrupted, disk full). False when the files are gone: the frame is retaken."""
        card = [CardFile(**c) for c in frame.card]
        capture = frame.capture or {}
        assert self.info is not None
        same_body = capture.get("camera_serial") in (None, "", self.info.serial)
        if not same_body or not all(self.call("exists", c) for c in card):
            self.record(
                "retake",
                sequence=seq.name,
                frame=frame.frame,
                attempt=frame.attempts,
                reason="the capture is no longer on the card",
            )
            return False
        self.console.line(
            f"{guide.frame_label(seq.name, frame.frame, len(seq.frames))}: "
            "fetching the capture left on the card"
        )
        return self._save(seq, frame, card, capture.get("focal_camera_mm"), Timer(), {})

    def _take(self, seq: SequenceState, frame: FrameState) -> None:
        timer = Timer()
        attempt = frame.attempts + 1
        label = guide.frame_label(seq.name, frame.frame, len(seq.frames), attempt)
        with timer.step("exposure"):
            self._check_exposure()
        bias = self._bias.get((seq.name, frame.frame), 0.0)
        camera_mm = self._bring_zoom(label, frame.focal_asked_mm, timer, bias)
        timeout, why = self._capture_timeout()
        self.record("trigger", sequence=seq.name, frame=frame.frame, attempt=attempt)
        with timer.step("capture"):
            try:
                result = self.call(
                    "capture", expected_files(self.rig), timeout, deadline=timeout + 20
                )
            except Reconnected:
                self._card_full_check()
                raise
            except CameraError as exc:
                self._card_full_check()
                if exc.code == CAPTURE_TIMEOUT:
                    raise SrrawError(
                        f"{label}: {exc.message} ({why}); a body slower than that needs a "
                        "larger --capture-timeout SECONDS. Run again to resume; files the body "
                        "writes late are reported as left on the card"
                    ) from None
                raise SrrawError(f"{label}: the camera did not take the picture ({exc})") from None
        if self.opts.capture_timeout is not None and result.seconds > 0.6 * timeout:
            self.console.line(
                f"warning: the body took {result.seconds:.1f} s from the trigger to its files, "
                f"close to --capture-timeout {timeout:g}: give a larger one"
            )
        assert self.info is not None
        self.record(
            "capture",
            sequence=seq.name,
            frame=frame.frame,
            attempt=attempt,
            focal_asked_mm=frame.focal_asked_mm,
            focal_camera_mm=camera_mm,
            camera_serial=self.info.serial,
            card=[c.__dict__ for c in result.files],
            capture_s=round(result.seconds, 4),
        )
        timer.steps["camera_capture"] = result.seconds
        self._save(seq, frame, result.files, camera_mm, timer, {})

    def _battery_check(self) -> None:
        """Say when the battery falls to 20% and to 5% (once each): a body that dies mid-frame
        loses nothing, but the sequence waits for a fresh battery."""
        widget = self._plain_call("read_widget", "batterylevel")
        level = None if widget is None else plan.parse_percent(widget.value)
        if level is None:
            if (
                widget is not None
                and plan.battery_low(widget.value)
                and 0 not in self._battery_said
            ):
                self._battery_said.add(0)
                self.console.line(
                    "warning: battery low (the body reports no percentage): change it now (if "
                    "it dies, run the same command again to resume; nothing on disk is lost)"
                )
            return
        crossed = [t for t in BATTERY_WARN_PCT if level <= t and t not in self._battery_said]
        if not crossed:
            return
        self._battery_said.update(crossed)
        advice = "change it now" if level <= BATTERY_WARN_PCT[-1] else "have a charged one ready"
        self.console.line(
            f"warning: battery at {level}%: {advice} (if it dies, run the same command again "
            "to resume; nothing on disk is lost)"
        )

    def _capture_timeout(self) -> tuple[float, str]:
        """Seconds from the trigger to the last file, and where that limit comes from."""
        if self.opts.capture_timeout is not None:
            return self.opts.capture_timeout, f"--capture-timeout {self.opts.capture_timeout:g}"
        assert self.info is not None
        slowest = self.state.capture_s.get(self.info.serial or "")
        if slowest is None:
            return FIRST_CAPTURE_TIMEOUT_S, "the limit for a body whose capture time is not known"
        limit = max(30.0, CAPTURE_TIMEOUT_FACTOR * slowest)
        return limit, f"{CAPTURE_TIMEOUT_FACTOR:g} x this body's slowest capture, {slowest:.1f} s"

    def _list_card(self) -> None:
        """Journal what the card holds now, to tell later what interrupted captures left."""
        try:
            card = self._plain_call("list_files")
        except CameraError as exc:  # a body that lists no card from the computer
            self.console.line(f"card: cannot list it ({exc.message}); left-over shots not told")
            return
        self.record("card_listing", files=[list(c) for c in card])

    def _orphans(self, fetch: bool) -> None:
        """Files interrupted captures left on the card: said, or fetched when asked (then
        deleted from the card unless --keep-on-card); never deleted silently."""
        if not self.state.open_triggers:
            if fetch:
                self.console.line("card: no file left there by an interrupted capture")
            return
        try:
            self._plain_call(
                "drain_events"
            )  # libgphoto2 lists new files once their events are read
            orphans = self.state.orphans(self._plain_call("list_files"))
        except CameraError as exc:
            self.console.line(f"card: cannot list it ({exc.message}); left-over shots not told")
            return
        self.summary.orphans = [f"{folder.rstrip('/')}/{name}" for folder, name in orphans]
        if not orphans:
            if fetch:
                self.console.line("card: no file left there by an interrupted capture")
            return
        if not fetch:
            self.console.line(
                f"card: {len(orphans)} file(s) left on the card by an interrupted capture, kept "
                f"there: {', '.join(self.summary.orphans)}; run the same command with "
                f"--fetch-orphans to fetch them into {self.root / aside.ORPHANS}"
            )
            return
        folder = f"{aside.ORPHANS}/{self.session_id}"
        for card_folder, name in orphans:
            item = self._plain_call("file_info", card_folder, name)
            final = self.root / folder / name
            got = fetch_file(self.call, item, final)
            self.record(
                "orphan_fetched",
                folder=card_folder,
                name=name,
                path=f"{folder}/{name}",
                sha256=got.sha256,
                bytes=got.bytes,
            )
            note = "kept on the card"
            if not self.opts.keep_on_card:
                try:
                    self.call("delete", card_folder, name)
                except CameraError as exc:  # a Sony body cannot delete from the computer
                    note = f"kept on the card: the body did not delete it ({exc.message})"
                else:
                    self.record("orphan_deleted", folder=card_folder, name=name)
                    note = "then deleted from the card"
            self.console.line(f"card: fetched {item.path} -> {final} ({got.bytes} bytes; {note})")

    def _card_full_check(self) -> None:
        """A failed capture on a full card reads like a dropped link (-1): say which."""
        with contextlib.suppress(CameraError, Reconnected):
            free = self.worker.call("free_bytes", deadline=10)
            if free is not None and free < 1024 * 1024:
                raise SrrawError(
                    "the camera's card is full: make room on it (or change it) and run the "
                    f"same command again to resume ({self._safe_text()})"
                )

    def _save(
        self,
        seq: SequenceState,
        frame: FrameState,
        card: list[CardFile],
        camera_mm: float | None,
        timer: Timer,
        extra: dict,
    ) -> bool:
        """Download, verify, rename, journal, delete from the card. False: rejected (retake)."""
        label = guide.frame_label(seq.name, frame.frame, len(seq.frames), frame.attempts)
        kinds = {file_kind(c.name) for c in card}
        want = {"raw", "jpeg"} if self.rig.exposure.raw_plus_jpeg else {"raw"}
        with timer.step("download"):
            fetched = fetch_frame(self.call, self.root / seq.folder, frame.frame, card)
        try:
            with timer.step("verify"):
                verdict = verify_frame(
                    self.rig,
                    frame.focal_asked_mm,
                    fetched.temps.get("raw"),
                    fetched.temps.get("jpeg"),
                    self._reference(seq),
                )
            reasons = verdict.reasons()
            if not want <= kinds:
                missing = ", ".join(sorted(want - kinds)).upper()
                reasons.insert(0, f"no {missing} file (the body is not set to RAW+JPEG?)")
                self._force_exposure = True
            if reasons:
                fetched.discard()
                self._reject(seq, frame, card, label, reasons, verdict, camera_mm)
                return False
            with timer.step("commit"):
                fetched.commit()
        except BaseException:
            fetched.discard()
            raise
        shot = verdict.shot
        assert shot is not None and self.info is not None
        with timer.step("journal"):
            self.record(
                "frame",
                sequence=seq.name,
                frame=frame.frame,
                status="ok",
                rig=self.rig.name,
                camera_model=self.info.model,
                camera_serial=self.info.serial,
                port=self.info.port,
                focal_asked_mm=frame.focal_asked_mm,
                focal_camera_mm=camera_mm,
                focal_exif_mm=shot.focal_mm,
                exposure_time_s=shot.exposure_time_s,
                f_number=shot.f_number,
                iso=shot.iso,
                attempts=frame.attempts,
                card=[c.__dict__ for c in card],
                **fetched.columns(self.root),
                **extra,
            )
        with timer.step("delete"):
            self._delete_card(seq, frame, card)
        total = timer.total()
        steps = {k: round(v, 4) for k, v in timer.steps.items()}
        steps.update(
            total=round(total, 4),
            transfer=round(fetched.transfer_s, 4),
            write=round(fetched.write_s, 4),
        )
        self.summary.frame_seconds.append(steps)
        self.summary.frames_ok += 1
        self.console.line(
            guide.status_line(label, frame.focal_asked_mm, camera_mm, shot, fetched.sizes, total)
        )
        return True

    def _reject(self, seq, frame, card, label, reasons, verdict, camera_mm) -> None:
        reason = "; ".join(reasons)
        exif_mm = verdict.shot.focal_mm if verdict.shot else None
        if verdict.focal and exif_mm is not None and camera_mm is not None:
            self._bias[(seq.name, frame.frame)] = exif_mm - camera_mm
            reason += f" (the camera read {guide.fmt_mm(camera_mm)} mm)"
        self.summary.retakes += 1
        frame.error = reason
        if verdict.exposure:
            self._force_exposure = True
            reason = "exposure changed on the body: " + reason
        self.console.line(f"{label}: {reason}; retaking")
        self.record(
            "retake",
            sequence=seq.name,
            frame=frame.frame,
            attempt=frame.attempts,
            reason=reason,
            focal_exif_mm=verdict.shot.focal_mm if verdict.shot else None,
        )
        if not self.opts.keep_on_card:
            for item in card:
                if item.in_memory:
                    continue  # only libgphoto2's copy: nothing on the body
                with contextlib.suppress(CameraError):
                    self.call("delete", item.folder, item.name)

    def _delete_card(self, seq, frame, card: list[CardFile]) -> None:
        if card and all(c.in_memory for c in card):
            # Sony (and Nikon/Canon SDRAM) captures: libgphoto2 fetched them from the
            # camera's memory during the capture, so there is nothing on the body to delete.
            where = (self.capture_target or "").lower()
            copy = "a copy stays on the card" if "card" in where else "no copy on the card"
            self.record(
                "nothing_to_delete",
                sequence=seq.name,
                frame=frame.frame,
                card=[c.__dict__ for c in card],
                reason=f"downloaded from the camera's memory ({copy}); nothing to delete",
            )
            return
        if self.opts.keep_on_card:
            return
        for item in card:
            try:
                self.call("delete", item.folder, item.name)
            except CameraError as exc:
                self.console.line(f"warning: could not delete {item.path} from the card ({exc})")
        self.record(
            "card_deleted", sequence=seq.name, frame=frame.frame, card=[c.__dict__ for c in card]
        )

    def _check_exposure(self) -> None:
        """Before each frame: a setting changed on the body is set back (or the run stops)."""
        reports, _ = body.apply_policy(self.call, self.rig, force=self._force_exposure)
        self._force_exposure = False
        changes = body.changes_text(reports)
        if changes:
            self.console.line(
                "camera: exposure changed on the body; set back: " + ", ".join(changes)
            )

    # ---- zoom ---------------------------------------------------------------------------

    def _bring_zoom(self, label: str, asked: float, timer: Timer, bias: float) -> float | None:
        """Get the lens to `asked` (drive it, or guide the photographer); the camera's reading."""
        if self.rig.zoom.drive == "power":
            with timer.step("zoom"):
                return self._power_zoom(label, asked, bias)
        if not self.live_focal:
            self.console.guide_start(label, guide.guide_text(asked, None, False))
            if not self.console.wait_enter("  Enter when the zoom is set (q to stop)"):
                raise KeyboardInterrupt
            return None
        with timer.step("guide"):
            return self._guide_zoom(label, asked, bias)

    def _read_focal(self) -> float | None:
        return self.call("read_focal", self.focal_widget, deadline=15)

    def _aim(self, asked: float, bias: float) -> float:
        """Where the camera reading should go so that EXIF lands on `asked` (in the lens)."""
        lens = self.rig.lens
        return float(min(max(asked - bias, lens.min_focal_mm), lens.max_focal_mm))

    def _within(self, asked: float, now: float | None, bias: float) -> bool:
        return now is not None and self.rig.within_tolerance(asked, now + bias)

    def _guide_zoom(self, label: str, asked: float, bias: float) -> float:
        """Poll the camera's focal length until it stays within tolerance for settle_s."""
        now = self._read_focal()
        within = self._within(asked, now, bias)
        aim = self._aim(asked, bias)
        text = guide.guide_text(aim, now, within)
        if bias:
            text += f" (EXIF reads {bias:+.1f} mm off the camera here)"
        self.console.guide_start(label, text)
        deadline = time.monotonic() + self.opts.zoom_timeout
        since = time.monotonic() if within else None
        while time.monotonic() < deadline:
            if within and since is not None and time.monotonic() - since >= self.opts.settle_s:
                return now  # type: ignore[return-value]
            time.sleep(POLL_S)
            previous = now
            now = self._read_focal()
            within = self._within(asked, now, bias)
            if not within or (
                previous is not None and now is not None and abs(now - previous) > 0.05
            ):
                since = time.monotonic() if within else None
            self.console.guide(guide.guide_text(aim, now, within))
        raise SrrawError(
            f"{label}: the zoom did not reach {asked:g} mm within {self.opts.zoom_timeout:g} s "
            f"(last {guide.fmt_mm(now)} mm); run the same command again to resume"
        )

    def _power_zoom(self, label: str, asked: float, bias: float) -> float:
        """Set the zoom widget; the lens lands near, not on: read back, nudge, give up."""
        widget = self.rig.zoom.widget
        start = self._read_focal()
        now = start
        deadline = time.monotonic() + min(self.opts.zoom_timeout, 30)
        for _ in range(4):
            if self._within(asked, now, bias):
                return now  # type: ignore[return-value]
            try:
                self.call("set_widget", widget, self._aim(asked, bias))
            except CameraError as exc:
                # libgphoto2 answers -2 to a set on a dead link too: probe it (a link error
                # reconnects and redoes the frame) before calling it a refusal.
                self._read_focal()
                raise SrrawError(
                    f"{label}: the body refused zoom '{widget}' = {asked:g} ({exc.message})"
                ) from None
            settle = time.monotonic() + 3.0
            while time.monotonic() < min(settle, deadline):
                now = self._read_focal()
                if self._within(asked, now, bias):
                    return now  # type: ignore[return-value]
                time.sleep(0.05)
            if now == start:
                raise SrrawError(
                    f"{label}: the body accepted '{widget}' = {asked:g} mm but the lens did not "
                    f"move (still {guide.fmt_mm(now)} mm): this body cannot zoom from the "
                    'computer; use a rig with [zoom] drive = "manual"'
                )
        raise SrrawError(
            f"{label}: the power zoom stops at {guide.fmt_mm(now)} mm, outside "
            f"{asked:g} mm +- {self.rig.focal_tolerance_pct:g}%"
        )
