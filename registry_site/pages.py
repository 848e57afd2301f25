"""What every page shares: showing a service's refusal on a form."""

from __future__ import annotations

from typing import Any

from registry_site.errors import DomainError


def form_error(form: Any, error: DomainError) -> None:
    """Show a service's refusal on the form: on the field it names, else on the form."""
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, error.message)


def prompt_path(prompt: Any) -> str:
    """The prompt page's path (``/p/<team>/<slug>/``), which every page links to."""
    return f"/p/{prompt.team.slug}/{prompt.slug}/"
