"""Fixtures for the bench tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.peers.llm_server import start_llm_server
from voice.config import Config
from voice.providers.llm_profiles import model_path, uses_ascii_vocab


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    """The local OpenAI-compatible server the stock peers talk to, serving our default GGUF."""
    llm = Config().llm
    with start_llm_server(model_path(llm), threads=2, ascii_text=uses_ascii_vocab(llm)) as url:
        yield url
