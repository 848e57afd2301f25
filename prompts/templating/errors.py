"""The domain errors raised while checking and rendering templates.

Anything that goes wrong surfaces as one of these (or another `registry_site.errors`
error), never as a raw Jinja or Python exception."""

from __future__ import annotations

from registry_site.errors import DomainError, Invalid

_ERROR_TEXT = 300  # longest exception text quoted back to the user


class TemplateSyntaxProblem(Invalid):
    code = "template_syntax"


class TemplateUnsafe(Invalid):
    code = "template_unsafe"


class RenderLimit(Invalid):
    code = "render_limit"


class MissingVariables(Invalid):
    code = "missing_variables"


class _NotRendering(Exception):
    """Raised by the guards outside a render. Jinja's constant folding treats any exception
    as "not constant", so filters and operators are never evaluated at compile time."""


def _syntax_problem(line: int, message: str) -> TemplateSyntaxProblem:
    return TemplateSyntaxProblem(f"Line {line}: {message}", {"line": line, "message": message})


def _missing(names: list[str]) -> MissingVariables:
    return MissingVariables(f"Missing values for: {', '.join(names)}.", {"missing": list(names)})


def at_message(index: int) -> dict:
    """Where an error of a chat message is: ``field`` and ``index`` say it to pages,
    ``message_index`` to API clients that read it before ``index`` was there."""
    return {"field": "messages", "index": index, "message_index": index}


def _with_index(error: DomainError, index: int) -> DomainError:
    details = {**error.details, **at_message(index)}
    return type(error)(f"messages[{index}]: {error.message}", details, code=error.code)


def reason_of(error: DomainError) -> str:
    """The error's text without the place its details give (``messages[2]: Line 3: ``),
    for a page that shows the place apart."""
    details = error.details
    text = error.message
    index = details.get("index")
    if details.get("field") in ("messages", "variables") and isinstance(index, int):
        text = text.removeprefix(f"{details['field']}[{index}]: ")
    line = details.get("line")
    return text.removeprefix(f"Line {line}: ") if line else text
