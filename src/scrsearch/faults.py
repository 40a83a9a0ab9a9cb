"""Faults from outside scrsearch (the OS, SQLite, a damaged index) as messages for a person.

The library raises typed errors for what it expects; what the machine does to it (a full
disk, a folder without permission, a file deleted from the index) arrives as OSError,
sqlite3.Error or whatever Whoosh raises on bytes it cannot decode. `explain` turns those into
one ScrsearchError naming the path and what to do, for the command line to print; it returns
None for an error it cannot explain (a bug, which should keep its traceback).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from .config import Home
from .errors import IndexDamaged, ScrsearchError, StoreError

_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def os_error_text(exc: OSError, what: str | Path | None = None) -> str:
    """One line for an OSError: the path, what happened, what to do."""
    path = exc.filename or what or "a file"
    if exc.filename2:
        path = f"{path} -> {exc.filename2}"
    if exc.errno in _DENIED:
        return (
            f"{path}: permission denied ({exc.strerror}); make it readable and writable by "
            "this user, or give another --home"
        )
    if exc.errno in _FULL:
        return (
            f"{path}: the disk is full; free some space and run the command again "
            "(nothing half-written was kept)"
        )
    if exc.errno == errno.EISDIR:
        return f"{path} is a folder where a file is expected; move it away and run again"
    if exc.errno == errno.ENOTDIR:
        return f"{path}: a file stands where a folder is expected; move it away and run again"
    return f"{path}: {exc.strerror or exc}"


def _sqlite_text(home: Home, exc: sqlite3.Error) -> str:
    path = home.catalogue_path
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return (
            f"{path} is not writable ({text}), and this command writes to the catalogue; make "
            "it and its folder writable, or give another --home (searching needs no write access)"
        )
    if "disk is full" in text or "disk I/O" in text:
        return (
            f"{path}: the disk is full ({text}); free some space and run the command again "
            "(the catalogue's last transaction was rolled back)"
        )
    return f"the catalogue {path}: {text}; `scrsearch check` tells whether it is damaged"


def _index_damage(home: Home, exc: BaseException) -> IndexDamaged | None:
    from .engine import open_engine

    return open_engine(home).damage_explaining(exc)


def explain(home: Home | None, exc: BaseException) -> ScrsearchError | None:
    """The error to show for an unexpected exception, or None when it is not a known fault."""
    if isinstance(exc, ScrsearchError):
        return exc
    if home is not None and not isinstance(exc, PermissionError):
        try:
            damage = _index_damage(home, exc)
        except Exception:  # explaining must not fail in its turn
            damage = None
        if damage is not None:
            return damage
    if isinstance(exc, OSError):
        return StoreError(os_error_text(exc, home.root if home else None))
    if isinstance(exc, sqlite3.Error) and home is not None:
        return StoreError(_sqlite_text(home, exc))
    return None
