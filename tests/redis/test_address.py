"""Every message about a Redis names it the same way, whatever it was given as: a
URL, a client, an arq pool or arq's settings, and never with its password."""

from __future__ import annotations

import pytest
from arq.connections import RedisSettings
from redis.asyncio import Redis

from thingspace_callbacks.redis._connection import redis_address

TCP = "redis://user:hunter2@cache.example:6390/3"
UNIX = "unix:///run/redis/redis.sock?db=0"


@pytest.mark.parametrize(
    "given",
    [TCP, Redis.from_url(TCP), RedisSettings.from_dsn(TCP)],
    ids=["url", "client", "arq-settings"],
)
def test_a_tcp_redis_is_host_port_and_database(given: object) -> None:
    assert redis_address(given) == "cache.example:6390/3"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "given",
    [UNIX, Redis.from_url(UNIX), RedisSettings.from_dsn(UNIX)],
    ids=["url", "client", "arq-settings"],
)
def test_a_unix_socket_redis_is_its_path(given: object) -> None:
    assert redis_address(given) == "/run/redis/redis.sock"  # type: ignore[arg-type]


def test_defaults_are_spelled_out() -> None:
    assert redis_address("redis://cache.example") == "cache.example:6379/0"
    assert redis_address(RedisSettings()) == "localhost:6379/0"


@pytest.mark.parametrize("given", ["redis://cache.example?db=4", "redis://cache.example/1?db=4"])
def test_a_database_in_the_query_is_the_one_used(given: str) -> None:
    # redis-py and arq both read ?db= before the path: the message names the same one.
    assert Redis.from_url(given).connection_pool.connection_kwargs["db"] == 4
    assert RedisSettings.from_dsn(given).database == 4
    assert redis_address(given) == "cache.example:6379/4"
