"""The review API is tried by every kind of caller of the permission matrix."""

from tests.api.conftest import callers  # noqa: F401 - a fixture
