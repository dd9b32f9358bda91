"""Writing files and folders so that a reader sees the old version or the new one, never half.

Everything is written under a temporary name beside its destination (same file system, so
the final :func:`os.replace` is atomic) and renamed into place only when complete. A run that
fails or is killed leaves the user's earlier file as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

FILE_MODE = 0o644  # others may read what claimcls writes (a shared model folder, an output)


def _temp_name(path: Path, suffix: str = ".tmp") -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def write_atomic(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed into place (mode 0644)."""
    with atomic_file(path, "wb") as f:
        f.write(data.encode(encoding) if isinstance(data, str) else data)
    return Path(path)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                newline: str | None = None) -> Iterator:
    """An open temporary file that replaces ``path`` when the block ends without an error;
    on an error the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = _temp_name(path)
    try:
        with open(tmp, mode, encoding=None if "b" in mode else encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """A temporary folder beside ``path`` that replaces it when the block ends without an error.

    Args:
        path: the folder to write.
        keep: names inside an existing ``path`` that are moved into the new folder unless the
            block wrote them too (``checkpoint`` beside a model, for instance).

    The old folder is renamed aside, the new one renamed into place, and the old one removed:
    at every moment ``path`` is either the complete old folder or the complete new one (for a
    moment it does not exist). On an error the temporary folder is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent))
    moved: list[str] = []
    try:
        os.chmod(tmp, 0o755)
        yield tmp
        for name in keep:
            if (path / name).exists() and not (tmp / name).exists():
                os.replace(path / name, tmp / name)
                moved.append(name)
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name[:64]}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "x")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        for name in moved:  # give back what was taken from the old folder
            if path.is_dir() and (tmp / name).exists():
                os.replace(tmp / name, path / name)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
