"""One Temporal dev server per test module; harnesses started by the tests themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.processes import (
    HarnessProcess,
    start_harness,
    stop_harness,
    temporal_dev_server,
)


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with temporal_dev_server(tmp_path_factory.mktemp("temporal")) as address:
        yield address


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "harness"


@pytest.fixture
def harnesses() -> Iterator[Callable[..., HarnessProcess]]:
    """start_harness for one test: whatever it started is stopped after it, pass or fail."""
    started: list[HarnessProcess] = []

    def start(*args: Any, **kwargs: Any) -> HarnessProcess:
        harness = start_harness(*args, **kwargs)
        started.append(harness)
        return harness

    yield start
    for harness in started:
        stop_harness(harness)
