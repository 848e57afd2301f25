import pytest

from tests.registry_site.servers import Resolver, install_resolver


@pytest.fixture
def dns(monkeypatch) -> Resolver:
    """The system resolver, with answers of our choosing for the names a test sets."""
    return install_resolver(monkeypatch)
