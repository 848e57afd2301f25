"""Checking and rendering prompt templates written by users (Jinja2, sandboxed).

Templates are untrusted input. Defence comes in two layers:

* At save time (`check`), the parsed AST is walked and anything that only serves to reach
  Python internals is refused: include/extends/import, `self`, the lipsum/cycler/joiner
  globals, attributes starting with "_", `mro`, `format`/`format_map`...
* At render time, a sandboxed environment bounds resources: binary operators, calls,
  filters, slices and string joins refuse to build values larger than the output limit
  (checked before the value is built), every render has a deadline enforced by a
  `sys.settrace` tracer (each line of template code, each Python call), and a per-render
  allocation budget stops templates that keep building large values.

Anything that goes wrong surfaces as a domain error (`registry_site.errors`), never as a
raw Jinja or Python exception.

Modules: `errors` (the error classes), `safety` (the static check), `limits` (render
state, budgets, size checks, bounded range, deadline tracer), `environment` (the sandboxed
environment and its guarded filters), `variables` (detection, declaration, values),
`checking` (compile cache, `check`, `check_messages`), `render` (`render_text`,
`render_messages`). Import from this package, not from the modules.
"""

from prompts.templating.checking import CHAT_ROLES, check, check_messages
from prompts.templating.checking import _compile as _compile
from prompts.templating.environment import ENVIRONMENT
from prompts.templating.errors import (
    MissingVariables,
    RenderLimit,
    TemplateSyntaxProblem,
    TemplateUnsafe,
    reason_of,
)
from prompts.templating.errors import _NotRendering as _NotRendering
from prompts.templating.limits import _run as _run
from prompts.templating.limits import _state as _state
from prompts.templating.render import _render as _render
from prompts.templating.render import render_messages, render_text
from prompts.templating.variables import VARIABLE_NAME, merge_variables, resolve_values

# The `x as x` imports above are internals the tests reach into; the public interface:
__all__ = [
    "CHAT_ROLES",
    "ENVIRONMENT",
    "VARIABLE_NAME",
    "MissingVariables",
    "RenderLimit",
    "TemplateSyntaxProblem",
    "TemplateUnsafe",
    "check",
    "check_messages",
    "merge_variables",
    "reason_of",
    "render_messages",
    "render_text",
    "resolve_values",
]
