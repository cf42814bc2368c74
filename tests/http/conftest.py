"""What the HTTP suites share: the app over the ``world`` ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from api.http import create_app

if TYPE_CHECKING:
    from tests.conftest import World


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The whole app (API and web pages) over the ``world`` fixture's ledger."""
    with TestClient(create_app(world.ledger.settings, ledger=world.ledger)) as client:
        yield client
