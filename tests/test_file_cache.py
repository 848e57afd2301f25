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


# ------------------------------------------------------------------ held in memory, never stale


def two_processes_worth(tmp_path):
    """Two backends on one directory, each with its own memory and its own mapping of the
    stamps: what two server processes have."""
    params = {"OPTIONS": {"MAX_ENTRIES": 1000}}
    return FileBasedCache(str(tmp_path), params), FileBasedCache(str(tmp_path), params)


def test_a_change_through_one_is_read_by_the_other_at_once(tmp_path):
    one, other = two_processes_worth(tmp_path)
    one.set("gen:team", "a")
    assert other.get("gen:team") == "a"
    one.set("gen:team", "b")
    assert other.get("gen:team") == "b"
    one.delete("gen:team")
    assert other.get("gen:team") is None
    assert other.get("gen:team", "gone") == "gone"
    one.add("gen:team", "c")
    assert other.get("gen:team") == "c"
    one.set_many({"gen:team": "d", "aclgen:1": 1})
    assert other.get_many(["gen:team", "aclgen:1"]) == {"gen:team": "d", "aclgen:1": 1}
    one.clear()
    assert other.get("aclgen:1") is None


def test_a_warm_read_opens_no_file_and_gives_a_copy(tmp_path, monkeypatch):
    one, other = two_processes_worth(tmp_path)
    one.set("tok:abc", {"scopes": ["read"]})
    assert other.get("tok:abc") == {"scopes": ["read"]}
    opened = []
    real_open = open
    monkeypatch.setattr(
        file_cache, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k), raising=False
    )
    first = other.get("tok:abc")
    first["scopes"].append("write")  # the caller's own object
    assert other.get("tok:abc") == {"scopes": ["read"]}
    assert other.get("missing") is None and other.get("missing") is None
    assert len(opened) == 1  # the missing key, once; the held entry not at all
    one.set("tok:abc", {"scopes": []})
    assert other.get("tok:abc") == {"scopes": []}
    assert len(opened) == 2


def test_a_held_entry_expires_on_time(tmp_path, monkeypatch):
    one, other = two_processes_worth(tmp_path)
    clock = [1_000_000.0]
    monkeypatch.setattr(file_cache.time, "time", lambda: clock[0])
    monkeypatch.setattr(filebased_time, "time", lambda: clock[0])
    one.set("res:x", "pointer", timeout=10)
    assert other.get("res:x") == "pointer"
    clock[0] += 11
    assert other.get("res:x") is None
    assert one.get("res:x") is None


filebased_time = __import__("django.core.cache.backends.filebased", fromlist=["time"]).time

_READER = """
import sys
from registry_site.file_cache import FileBasedCache
backend = FileBasedCache(sys.argv[1], {"OPTIONS": {"MAX_ENTRIES": 1000}})
for line in sys.stdin:
    print(backend.get("gen:team"), flush=True)
"""


def test_another_process_never_answers_stale(tmp_path):
    """A real second process reads after each change has returned: always the new value,
    though it keeps every value it read in its memory."""
    import subprocess
    import sys
    from pathlib import Path

    writer = FileBasedCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 1000}})
    writer.set("gen:team", "0")
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        answers = []
        for i in range(200):
            if i % 2:
                writer.set("gen:team", str(i))
            reader.stdin.write("read\n")
            reader.stdin.flush()
            answers.append(reader.stdout.readline().strip())
        expected = [str(i if i % 2 else max(i - 1, 0)) for i in range(200)]
        assert answers == expected
    finally:
        reader.stdin.close()
        reader.wait(timeout=10)
