"""Rendering: templates are streamed under one render state (deadline, output budget),
and whatever goes wrong is translated into a domain error."""

from __future__ import annotations

from types import TracebackType

from jinja2.environment import Template
from jinja2.exceptions import SecurityError, UndefinedError

from prompts.templating.checking import _checked, check_messages
from prompts.templating.errors import (
    _ERROR_TEXT,
    RenderLimit,
    TemplateUnsafe,
    _missing,
    _with_index,
)
from prompts.templating.limits import _TEMPLATE_FILENAME, _RenderState, _run
from prompts.templating.variables import _require_values
from registry_site.errors import DomainError, Invalid


def _render(template: Template, values: dict, state: _RenderState) -> str:
    """Stream the template, counting output as it comes. Calls root_render_func (what
    Template.generate wraps) directly: generate() rewrites tracebacks on errors, compiling
    code per frame, which is slow after deep recursion and pointless here."""
    chunks = []
    stream = template.root_render_func(template.new_context(dict(values)))
    try:
        for chunk in stream:
            state.count_output(len(chunk))
            chunks.append(chunk)
    except DomainError:
        raise
    except Exception as exc:
        raise _translate(exc, template) from exc
    finally:
        stream.close()
    return _valid_text("".join(chunks))


def _valid_text(text: str) -> str:
    """Rendered text must be encodable: an unpaired surrogate ('\\ud800' in a template, or
    a value) cannot be sent as UTF-8, and would fail every answer that carries it."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        message = (
            f"the rendered text is not valid Unicode: character {exc.start + 1} is an "
            f"unpaired surrogate (U+{ord(text[exc.start]):04X})."
        )
        raise Invalid(
            f"Rendering failed: {message}", {"line": None, "message": message}, code="render_error"
        ) from None
    return text


def _template_line(traceback: TracebackType | None, template: Template) -> int | None:
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILENAME:
            line = template.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


_LIMIT_ERRORS = {
    RecursionError: ("recursion", "The template nests macros, loops or values too deeply."),
    MemoryError: ("memory", "The template needs too much memory to render."),
    OverflowError: ("size", "The template computed a number too large to handle."),
}


def _translate(exc: Exception, template: Template) -> DomainError:
    line = _template_line(exc.__traceback__, template)
    where = f"Line {line}: " if line else ""
    for kind, (limit, message) in _LIMIT_ERRORS.items():
        if isinstance(exc, kind):
            return RenderLimit(f"{where}{message}", {"limit": limit, "line": line})
    text = str(exc)[:_ERROR_TEXT] or type(exc).__name__
    details = {"line": line, "message": text}
    if isinstance(exc, SecurityError):
        return TemplateUnsafe(f"{where}{text}", {**details, "reason": "sandbox"})
    if isinstance(exc, UndefinedError):
        return Invalid(f"{where}{text}", details, code="render_error")
    return Invalid(f"{where}rendering failed: {text}", details, code="render_error")


def _require_present(variables: list[str], values: dict) -> None:
    missing = [name for name in variables if name not in values]
    if missing:
        raise _missing(missing)


def render_text(source: str, values: dict) -> str:
    """Render a text template; every variable it uses must be in `values`."""
    values = _require_values(values)
    compiled = _checked(source)
    _require_present(compiled.variables, values)
    return _run(lambda state: _render(compiled.template, values, state))


def render_messages(messages: list[dict], values: dict) -> list[dict]:
    """Render every message; one deadline and one output budget cover the whole chat."""
    _require_present(check_messages(messages), _require_values(values))
    return _run(lambda state: _render_chat(messages, values, state))


def _render_chat(messages: list[dict], values: dict, state: _RenderState) -> list[dict]:
    rendered = []
    for index, message in enumerate(messages):
        try:
            content = _render(_checked(message["content"]).template, values, state)
        except DomainError as error:
            raise _with_index(error, index) from error
        rendered.append({"role": message["role"], "content": content})
    return rendered
