"""The file cache culls by its limit without listing its directory on every write."""

from unittest import mock

from registry_site import file_cache
from registry_site.file_cache import FileBasedCache


def test_the_directory_is_listed_once_every_so_many_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "CULL_EVERY", 10)
    backend = FileBasedCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 1000}})
    with mock.patch.object(
        FileBasedCache, "_list_cache_files", autospec=True, return_value=[]
    ) as listing:
        for i in range(35):
            backend.set(f"k{i}", i)
    assert listing.call_count == 3
    assert backend.get("k34") == 34


def test_it_still_culls_past_its_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(file_cache, "CULL_EVERY", 5)
    backend = FileBasedCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 20, "CULL_FREQUENCY": 2}})
    for i in range(200):
        backend.set(f"k{i}", i)
    entries = len(backend._list_cache_files())
    assert entries <= 20 + 5  # the limit, plus at most CULL_EVERY writes between looks
    assert backend.get("k199") == 199
