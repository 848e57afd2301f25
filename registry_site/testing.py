"""Test-run defaults, loaded as a pytest plugin (-p) before Django reads its settings.

Each pytest-xdist worker gets its own cache (a Redis database or a folder) so that
one worker clearing its cache never disturbs another's test.
"""

import os
import re

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("HTTPS", "false")

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(re.sub(r"\D", "", _worker) or 0)
os.environ["CACHE_PREFIX"] = f"test-{_worker}"
if os.environ.get("REDIS_URL"):
    base = int(os.environ.get("TEST_REDIS_DB_BASE", "8"))
    os.environ["REDIS_URL"] = re.sub(r"(/\d+)?$", f"/{base + _index}", os.environ["REDIS_URL"], 1)
os.environ.setdefault(
    "REGISTRY_VAR_DIR",
    os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test", _worker),
)
