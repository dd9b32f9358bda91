import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def polnear_path() -> Path | None:
    for cand in (os.environ.get("CLAIMCLS_POLNEAR"), ROOT.parent / "shared" / "data" / "polnear"):
        if cand and (Path(cand) / "data" / "dev").is_dir():
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def polnear() -> Path:
    path = polnear_path()
    if path is None:
        pytest.skip("PolNeAR is not here (set CLAIMCLS_POLNEAR to its folder)")
    return path


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from claimcls.config import default_encoder_path

    return AutoTokenizer.from_pretrained(default_encoder_path())


@pytest.fixture(scope="session")
def bundled():
    import claimcls

    return claimcls.read_corpus("bundled")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random-encoder model trained for a few steps (fast, for plumbing tests)."""
    from claimcls.config import load_config
    from claimcls.training import train

    out = tmp_path_factory.mktemp("tiny_model")
    train(load_config(ROOT / "configs" / "tiny.yaml"), out)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    import claimcls

    return claimcls.load(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def overfit(tmp_path_factory):
    """A tiny random encoder trained until it reproduces three small documents."""
    from claimcls.config import load_config
    from claimcls.training import train

    out = tmp_path_factory.mktemp("overfit")
    cfg = load_config(ROOT / "configs" / "tiny.yaml", {
        "data.bundled": "false", "data.train_files": str(FIXTURES / "tiny.jsonl"), "data.dev_files": str(FIXTURES / "tiny.jsonl"),
        "train.epochs": "300", "train.eval_every_epochs": "300", "train.batch_size": "3", "train.lr": "5e-3", "train.head_lr": "5e-3", "train.warmup_ratio": "0",
        "model.dropout": "0", "train.mixed_precision": "no", "model.max_length": "64",
    })
    return train(cfg, out), out
