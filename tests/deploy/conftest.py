"""One running deployment (tests/deploy/stack.py) shared by the tests that need it: starting it takes seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy.stack import Stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack.start(tmp_path_factory.mktemp("deploy"))
    try:
        yield running
    finally:
        running.stop()
