"""Save-time checking: the compile cache (parse, static safety check, variable detection,
compile) and the public `check` / `check_messages`."""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.conf import settings
from jinja2 import TemplateSyntaxError
from jinja2.environment import Template

from prompts.templating.environment import ENVIRONMENT
from prompts.templating.errors import _ERROR_TEXT, _syntax_problem, _with_index, at_message
from prompts.templating.limits import _TEMPLATE_FILENAME
from prompts.templating.safety import _check_safety
from prompts.templating.variables import _variables
from registry_site.errors import DomainError, Invalid

CHAT_ROLES = ("system", "user", "assistant", "tool")
_MAX_MESSAGES = 1_000


class _Compiled(NamedTuple):
    template: Template
    variables: list[str]


@functools.lru_cache(maxsize=1024)
def _compile(source: str) -> _Compiled:
    """Parse, check, compile. Cached by source text: stored versions never change."""
    try:
        ast = ENVIRONMENT.parse(source)
        _check_safety(ast)
        variables = _variables(ast)
        code = ENVIRONMENT.compile(ast, filename=_TEMPLATE_FILENAME)
    except TemplateSyntaxError as exc:
        raise _syntax_problem(exc.lineno, exc.message or "invalid template syntax.") from exc
    except RecursionError as exc:
        raise _syntax_problem(1, "the template is nested too deeply.") from exc
    except (MemoryError, SyntaxError, ValueError, OverflowError) as exc:
        # Pathological input: an integer literal of 5,000 digits, blocks nested past
        # Python's limit of 20...
        reason = str(exc)[:_ERROR_TEXT] or type(exc).__name__
        raise _syntax_problem(1, f"the template cannot be compiled: {reason}") from exc
    template = ENVIRONMENT.template_class.from_code(
        ENVIRONMENT, code, ENVIRONMENT.make_globals(None)
    )
    return _Compiled(template, variables)


def _checked(source: object) -> _Compiled:
    if not isinstance(source, str):
        raise Invalid("A template must be a string.", {"type": type(source).__name__})
    limit = int(getattr(settings, "REGISTRY_MAX_TEMPLATE_CHARS", 100_000))
    if len(source) > limit:
        raise Invalid(
            f"The template is {len(source)} characters long; the limit is {limit}.",
            {"limit": limit, "length": len(source)},
        )
    if "\x00" in source:
        raise Invalid("Templates cannot contain NUL characters.", {"reason": "nul"})
    return _compile(source)


def check(source: str) -> list[str]:
    """Validate a text template at save time; return the variables it uses, in order of
    first appearance."""
    return list(_checked(source).variables)


def _check_message_shape(index: int, message: object) -> None:
    def refuse(text: str, key: str) -> Invalid:
        return Invalid(f"messages[{index}]: {text}", {**at_message(index), "key": key})

    if not isinstance(message, dict):
        raise refuse("each message must be an object with a role and a content.", "message")
    unknown = sorted(str(key) for key in message if key not in ("role", "content"))
    if unknown:
        raise refuse(f"unknown fields {unknown}; a message has only role and content.", unknown[0])
    role = message.get("role")
    if not isinstance(role, str) or role not in CHAT_ROLES:
        raise refuse(f"the role must be one of {', '.join(CHAT_ROLES)}; got {role!r}.", "role")
    if not isinstance(message.get("content"), str):
        raise refuse("the content must be a string (the message's template).", "content")


def check_messages(messages: object) -> list[str]:
    """Validate a chat prompt (a list of {"role", "content"}); return the union of the
    variables its messages use, in order of first appearance."""
    if not isinstance(messages, list):
        raise Invalid("Chat messages must be a list of {role, content} objects.")
    if not messages:
        raise Invalid("A chat prompt needs at least one message.")
    if len(messages) > _MAX_MESSAGES:
        raise Invalid(
            f"A chat prompt may have at most {_MAX_MESSAGES} messages.", {"limit": _MAX_MESSAGES}
        )
    limit = int(getattr(settings, "REGISTRY_MAX_TEMPLATE_CHARS", 100_000))
    variables: dict[str, None] = {}
    total = 0
    for index, message in enumerate(messages):
        _check_message_shape(index, message)
        total += len(message["content"])
        if total > limit:
            raise Invalid(
                f"messages[{index}]: the messages together exceed the limit of {limit} characters.",
                {"limit": limit, **at_message(index)},
            )
        try:
            variables.update(dict.fromkeys(_checked(message["content"]).variables))
        except DomainError as error:
            raise _with_index(error, index) from error
    return list(variables)
