"""The one error type users see: a single line naming the file and what is wrong."""

from __future__ import annotations

import os

import click


class SrrawError(click.ClickException):
    """Bad input or a failed operation; click prints it as one line and exits non-zero."""

    exit_code = 2

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        self.reason = message  # the problem alone, without the path
        super().__init__(f"{self.path}: {message}" if self.path else message)
