"""Put the body on the rig's exposure policy through libgphoto2, one widget at a time.

A whole-tree set_config() returns OK even when the body refused a value, so each setting is
set with set_single_config() and read back. Where a setting cannot be set from the computer
and is wrong, capture refuses to start and says exactly what to change on the body.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from srraw.errors import SrrawError
from srraw.rig import Rig
from srraw_capture.camera import CameraError
from srraw_capture.plan import SETTINGS, choose_value, describe_plan, describe_value, value_matches

SET_DEADLINE_S = 180.0  # a stepping body walks its values one request at a time
CACHE_S = 2.6  # libgphoto2 caches a property 2 s (ptp.c cachetime)

ON_BODY = {
    "program": "turn the mode dial to M",
    "aperture": "set the aperture on the body",
    "shutter": "set the shutter speed on the body",
    "iso": "set the ISO on the body (not Auto)",
    "quality": "set the image quality to RAW+JPEG in the camera menu",
}


@dataclass(frozen=True)
class SettingReport:
    key: str
    label: str
    widget: str | None  # the libgphoto2 config name found on this body
    before: object
    after: object
    changed: bool
    seconds: float = 0.0  # how long the set and its read-back took (stepping bodies: seconds)


def _find(call, rig: Rig, key: str, names: tuple[str, ...]):
    """The body's widget for a setting: the first found, or for image quality the first that
    can hold the plan (Canon PowerShot 'imagequality' is the JPEG grade, 'imageformat' RAW)."""
    found = [w for name in names if (w := call("read_widget", name)) is not None]
    if key == "quality":
        for widget in found:
            if value_matches(rig, key, widget.value) or choose_value(rig, key, widget.choices):
                return widget
    return found[0] if found else None


def _refuse(rig: Rig, key: str, label: str, widget, why: str) -> SrrawError:
    plan = describe_plan(rig, key)
    now = describe_value(key, widget.value)
    return SrrawError(
        f"cannot start: {label} is {now} and {why} ('{widget.name}' in libgphoto2): "
        f"{ON_BODY[key].replace('the body', 'the camera')}, to {plan}"
    )


def apply_policy(
    call, rig: Rig, force: bool = False, say=None
) -> tuple[list[SettingReport], list[str]]:
    """Check each exposure setting and set those that differ (all of them with `force`).

    Returns (reports, warnings). Raises SrrawError naming the setting to change on the body.
    `call(name, *args, deadline=...)` runs a Camera method in the camera worker;
    `say(label, before, target)`, when given, is called before each set (a body that steps
    through its values takes seconds: the photographer sees why it waits).
    """
    reports, warnings = [], []
    for setting in SETTINGS:
        widget = _find(call, rig, setting.key, setting.widgets)
        if widget is None:
            warnings.append(
                f"the body reports no {setting.label} through libgphoto2 "
                f"(tried {', '.join(setting.widgets)}): make sure it is "
                f"{describe_plan(rig, setting.key)}; EXIF is checked after every frame"
            )
            continue
        good = value_matches(rig, setting.key, widget.value)
        if good and not force:
            reports.append(
                SettingReport(
                    setting.key, setting.label, widget.name, widget.value, widget.value, False
                )
            )
            continue
        if widget.readonly:
            if good:
                continue
            raise _refuse(
                rig, setting.key, setting.label, widget, "cannot be set from the computer"
            )
        target = (
            choose_value(rig, setting.key, widget.choices)
            if widget.choices
            else widget.value
            if good
            else None
        )
        if target is None:
            raise _refuse(
                rig, setting.key, setting.label, widget, "the body offers no such value to set"
            )
        if say is not None and not good:
            say(
                setting.label,
                describe_value(setting.key, widget.value),
                describe_value(setting.key, target),
            )
        started = time.monotonic()
        after = set_and_read_back(call, widget.name, target)
        seconds = time.monotonic() - started
        if after is None or not value_matches(rig, setting.key, after):
            if good:
                continue  # a forced re-set that the body refused, but it already matches
            raise _refuse(
                rig, setting.key, setting.label, widget, "the body refused the computer's value"
            )
        reports.append(
            SettingReport(
                setting.key, setting.label, widget.name, widget.value, after, not good, seconds
            )
        )
    return reports, warnings


def set_and_read_back(call, name: str, value: object) -> object | None:
    """set_single_config (a busy body gets its back-off in Camera.set_widget), read back.

    The read-back waits out libgphoto2's property cache (2 s, `cachetime`) before calling a
    value refused: a Sony mode-3 body takes the write at once, but the first read-back comes
    from the cache and shows the old value.
    """
    try:
        call("set_widget", name, value, deadline=SET_DEADLINE_S)
    except CameraError as exc:
        if exc.link:
            raise
        return read_back(call, name, value, wait_s=0)
    return read_back(call, name, value)


def read_back(call, name: str, value: object, wait_s: float = CACHE_S) -> object | None:
    deadline = time.monotonic() + wait_s
    while True:
        widget = call("read_widget", name)
        if widget is None or str(widget.value) == str(value) or time.monotonic() >= deadline:
            return None if widget is None else widget.value
        time.sleep(0.5)


def changes_text(reports: list[SettingReport]) -> list[str]:
    """'shutter speed 1/125 s -> 1/30 s' for each setting changed from the computer."""
    return [
        f"{r.label} {describe_value(r.key, r.before)} -> {describe_value(r.key, r.after)}"
        + (f" ({r.seconds:.1f} s)" if r.seconds >= 1 else "")
        for r in reports
        if r.changed
    ]
