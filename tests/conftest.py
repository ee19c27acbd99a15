"""Shared fixtures: the real corpus is read in place from ../shared/corpus/real."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
REAL_CORPUS = Path(os.environ.get("VOICE_REAL_CORPUS", ROOT.parent / "shared" / "corpus" / "real"))


@pytest.fixture(scope="session")
def real_corpus() -> Path:
    if not (REAL_CORPUS / "manifest.jsonl").is_file():
        pytest.fail(f"the real corpus is missing at {REAL_CORPUS} (set VOICE_REAL_CORPUS)")
    return REAL_CORPUS


@pytest.fixture(scope="session")
def real_cases(real_corpus: Path) -> dict[str, dict]:
    lines = (real_corpus / "manifest.jsonl").read_text().splitlines()
    return {case["id"]: case for case in (json.loads(line) for line in lines if line.strip())}
