"""Fixtures for the bench tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.peers.llm_server import start_llm_server
from voice.providers import model_files


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    """The local OpenAI-compatible server the stock peers talk to, serving our GGUF."""
    with start_llm_server(model_files.gemma_gguf_path(), threads=2) as url:
        yield url
