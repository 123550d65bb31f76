"""Writing a file the user asked for: all of it or none of it, with a clear failure.

Problem: every command that writes (`-o`, `--annotate`, templates, workbooks) must never
leave a half-written file, must give the result the user's usual permissions, and must
turn "that is a folder", "no such folder" or a full disk into one line, not a traceback.

Approach: write to a temporary file beside the target (so the final rename stays on one
file system and is atomic), flush it to disk, give it the permissions `umask` allows
(mkstemp makes it private), then rename it over the target; remove it on any failure.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from contracts.errors import EnvironmentFailure, UsageError


def write_atomically(path: pathlib.Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write` on a temporary file beside `path`, then rename it over `path`."""
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the name of a file to write")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise EnvironmentFailure(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise EnvironmentFailure(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def write_bytes_atomically(path: pathlib.Path, data: bytes) -> None:
    def write(out: BinaryIO) -> None:
        out.write(data)

    write_atomically(path, write)
