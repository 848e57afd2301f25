"""Client for the prompt registry: ``RegistryClient(base_url, token).get("team/slug")``.

Standard library only, so any Python service can depend on it.
"""

from ._version import __version__
from .client import RegistryClient
from .errors import (
    Forbidden,
    MissingVariables,
    NotFound,
    RegistryError,
    Throttled,
    Unauthorized,
    Unavailable,
)
from .prompt import Prompt

__all__ = [
    "Forbidden",
    "MissingVariables",
    "NotFound",
    "Prompt",
    "RegistryClient",
    "RegistryError",
    "Throttled",
    "Unauthorized",
    "Unavailable",
    "__version__",
]
