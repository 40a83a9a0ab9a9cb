"""One writer per home: an advisory file lock held while `index` or `update` runs.

The lock is `fcntl.flock` on `index/update.lock`: the kernel releases it when its process dies,
however it dies, so a lock left by a dead process is taken over by the next run. The file also
records the holder's pid and command, so a second run can say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from .config import Home
from .errors import LockedError, StoreError
from .store import require_writable, utc_now


def _holder(path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def home_lock(home: Home, command: str) -> Iterator[dict]:
    """Hold the home's writer lock for the duration; raise LockedError if another run has it.

    Yields a dict with `stale_from`: the pid of a dead previous holder whose lock was taken
    over, or None.
    """
    require_writable(home)
    home.ensure()
    path = home.lock_path
    if path.is_dir():
        raise StoreError(
            f"{path} is a folder, but it should be the lock file of the home; remove it "
            f"(rmdir {path}) and run again"
        )
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            who = f"pid {holder.get('pid', '?')} ({holder.get('command', '?')}, since "
            who += f"{holder.get('started', '?')})"
            raise LockedError(
                f"another scrsearch run is writing to {home.root}: {who}. "
                "Wait for it to finish; only one index or update runs at a time."
            ) from None
        previous = _holder(path)
        old_pid = previous.get("pid")
        stale = old_pid if old_pid and old_pid != os.getpid() and not _pid_alive(old_pid) else None
        record = {"pid": os.getpid(), "command": command, "started": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        try:
            yield {"stale_from": stale}
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
