"""Test-run defaults, loaded as a pytest plugin (-p) before Django reads its settings.

Each test run, and each pytest-xdist worker in it, gets its own database, cache and
scratch folder, so runs side by side (two terminals, CI and a developer) never
disturb each other.
"""

import os
import re
import shutil
import time
from pathlib import Path

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("HTTPS", "false")

_ROOT = Path(__file__).resolve().parent.parent / "var" / "test"
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker is None:
    # The controlling process: name this run, and sweep scratch left by old runs.
    os.environ["REGISTRY_TEST_RUN"] = str(os.getpid())
    if _ROOT.exists():
        for old in _ROOT.iterdir():
            if old.is_dir() and time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
_run = os.environ["REGISTRY_TEST_RUN"]
_worker = _worker or "gw0"
_index = int(re.sub(r"\D", "", _worker) or 0)

os.environ["CACHE_PREFIX"] = f"test-{_run}-{_worker}"
if os.environ.get("REDIS_URL"):
    base = int(os.environ.get("TEST_REDIS_DB_BASE", "8"))
    os.environ["REDIS_URL"] = re.sub(
        r"(/\d+)?$", f"/{base + _index}", os.environ["REDIS_URL"], count=1
    )
os.environ["REGISTRY_VAR_DIR"] = str(_ROOT / _run / _worker)
