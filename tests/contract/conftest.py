"""The ``pool_driver`` fixture: each contract test runs once per driver, against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.drivers import DRIVERS, Driver
from tests.support.redis_server import RedisServer


@pytest.fixture(params=list(DRIVERS))
def pool_driver(request: pytest.FixtureRequest, real_redis: RedisServer, settings: Any) -> Iterator[Driver]:
    """The alias ``contract`` on the real server, driven by threads or by tasks on one event loop."""
    driver = DRIVERS[request.param](real_redis, settings)
    try:
        yield driver
    finally:
        driver.close()
