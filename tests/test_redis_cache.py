"""The Redis cache backend: one client per pool, and a one-round-trip window counter."""

import os
import uuid

import pytest

from registry_site.redis_cache import RedisCache

URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"


@pytest.fixture
def redis_cache():
    backend = RedisCache(URL, {"KEY_PREFIX": f"t-{uuid.uuid4().hex}"})
    yield backend
    backend.clear()


def test_the_client_is_built_once_per_pool(redis_cache):
    first = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client(write=True) is first
    redis_cache.set("k", {"a": 1})
    assert redis_cache.get("k") == {"a": 1}
    assert redis_cache._cache.get_client(write=True) is first


def test_a_window_counter_counts_and_expires(redis_cache):
    assert [redis_cache.count_in_window("w", 60) for _ in range(3)] == [1, 2, 3]
    client = redis_cache._cache.get_client(write=True)
    ttl = client.ttl(redis_cache.make_and_validate_key("w"))
    assert 0 < ttl <= 60  # set by the first count, not pushed back by the next ones
    assert redis_cache.count_in_window("other", 60) == 1


def test_a_window_counter_adds_a_batch_at_once(redis_cache):
    assert redis_cache.count_in_window("batch", 60, 7) == 7
    assert redis_cache.count_in_window("batch", 60, 3) == 10
