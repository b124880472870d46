"""Output folders written whole or not at all.

A run's files are written into a fresh hidden folder beside the target and renamed into place when
complete, so an interrupted or failed save never leaves a folder that mixes one run's files with
another's or lacks some of them; an existing folder is replaced only when asked."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


class OutputExists(Exception):
    """The output folder already holds files and replacing it was not asked for."""


def check_free(target: Path, overwrite: bool) -> None:
    """Refuse, before any work, a target that is a file, or a non-empty folder unless `overwrite`."""
    if target.exists() and not target.is_dir():
        raise OutputExists(f"{target} is a file, not a folder: choose a folder for the results")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        names = sorted(entry.name for entry in target.iterdir())
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise OutputExists(f"{target} already holds files ({shown}): choose another folder, or pass --overwrite "
                           "to replace it")


def write_whole(target: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(folder)` on a fresh folder beside `target`, then put it in `target`'s place (an
    existing target is replaced only once the new folder is complete). On any failure, or an
    interruption, the fresh folder is removed and `target` is as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        write(partial)
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            target.rename(old)
            partial.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target
