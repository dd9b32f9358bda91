"""Train a claimcls model.

    python scripts/train.py --config configs/default.yaml [--output DIR] [--resume] [--section.key value ...]

The same as ``claimcls train``; run it under ``accelerate launch`` for several processes.
"""

import sys

from claimcls.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
