"""Reading the files a user names (lab files, scenario files, certificate files to import).

Rules kept here, so that no file input can hang or exhaust the lab:

* Only a regular file is read. A FIFO would block the open until a writer came, and a device
  such as ``/dev/zero`` never ends; both are refused before any byte is read (the open itself
  does not block: ``O_NONBLOCK``, and the opened file is checked again, in case the path was
  swapped in between).
* At most ``limit`` bytes are read; a larger file is refused, whatever its size claims
  (files under ``/proc`` say 0 and hold more).

Pure: stdlib only. Callers turn :class:`InputFileError` into their own error with the path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = [
    "CERTIFICATE_FILE_LIMIT",
    "TOML_FILE_LIMIT",
    "InputFileError",
    "format_size",
    "read_input_file",
]

TOML_FILE_LIMIT = 1024 * 1024
"""The largest lab or scenario file labsim reads (1 MB; the shipped ones hold a few KB)."""

CERTIFICATE_FILE_LIMIT = 1024 * 1024
"""The largest certificate file labsim reads (1 MB; a certificate with its chain holds a few KB)."""


class InputFileError(Exception):
    """The file cannot be used; ``str()`` says why and how to fix it, without the path."""


def format_size(size: int) -> str:
    """``1048576`` → ``"1 MB"``, for messages."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise InputFileError(
            f"is {_kind(mode)}, not a regular file; labsim reads only regular files: "
            "save the content to a file and give its path"
        )


def read_input_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Raises :class:`InputFileError` for anything but a regular file, or a file larger than
    ``limit``; ``OSError`` (``FileNotFoundError`` …) as the system gives it.
    """
    _check_regular(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        _check_regular(os.fstat(fd).st_mode)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputFileError(
            f"is larger than {format_size(limit)}, labsim's limit for this kind of file; "
            "give a smaller file"
        )
    return data
