"""Atomic writes: a reader (or the next run) sees the old file or the new one, never half of one.

The bytes go to a temporary file with a unique name in the same folder (``.NAME.XXXX.tmp``),
are flushed to disk (``fsync``), optionally checked, and only then renamed over the target
with ``os.replace``, which is atomic on POSIX and Windows. A failed write removes its temporary
file; one killed outright cannot, and ``remove_leftovers`` clears those at the next start.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

__all__ = ["remove_leftovers", "write_atomically", "write_json"]


def write_atomically(
    path: str | Path,
    write: Callable[[IO[bytes]], None],
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it over ``path``.

    ``check(temporary_path)``, when given, runs after the bytes are on disk and before the
    rename: if it raises, ``path`` keeps its old content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, obj: object) -> Path:
    """Write ``obj`` as indented, strict JSON, atomically.

    Raises:
        ValueError: naming the file, if ``obj`` holds ``nan`` or an infinity, which strict JSON
            has no words for (Python's ``json`` would write a bare ``NaN``).
    """
    try:
        text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    except ValueError as err:
        raise ValueError(f"{path} not written: {err} (a value is nan or infinite)") from err
    return write_atomically(path, lambda f: f.write(text.encode("utf-8")))


def remove_leftovers(folder: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the temporary files that interrupted writes of ``names`` left in ``folder``.

    Only call this while no one else writes there (``coursekit.training.checkpoint``'s
    folder lock): another writer's temporary file would go too.

    Returns:
        The files removed.
    """
    folder = Path(folder)
    removed = []
    for name in names:
        # .NAME.XXXX.tmp is write_atomically's; .NAME.tmp an older writer's
        for leftover in [*folder.glob(f".{name}.*.tmp"), folder / f".{name}.tmp"]:
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed.append(leftover)
    return removed
