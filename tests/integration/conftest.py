"""Integration fixtures: the real default models, loaded once for the whole test run."""

from __future__ import annotations

import pytest

from voice.config import Config, load_config
from voice.providers.registry import Models, load_models


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(environ={})


@pytest.fixture(scope="session")
def models(config: Config) -> Models:
    return load_models(config)
