"""Finding the references in a template's source, and expanding them.

A reference is written ``{% include "team/slug" %}``, ``"team/slug@3"`` or
``"team/slug@environment"`` (single quotes too, with ``{%-`` / ``-%}`` to strip the
whitespace before / after it, as Jinja does). Composing is textual: each reference is
replaced by the snippet's own (composed) text, and the result is an ordinary template
that the sandbox renders, which still refuses every other include, import and extends.

An include inside ``{% raw %}`` or a comment is text, not a reference: the candidates
found by the pattern are told apart by parsing the source with each one replaced by a
marker and keeping those whose marker the parser sees as a name.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from jinja2 import nodes

from prompts.templating import ENVIRONMENT, TemplateUnsafe

_CANDIDATE = re.compile(
    r"\{%(?P<left>[-+]?)\s*include\s+(?P<quote>[\"'])(?P<written>[^\"'\n]{0,300})(?P=quote)"
    r"\s*(?P<right>[-+]?)%\}"
)
_SLUG = r"[a-z0-9][a-z0-9-]{0,63}"
ADDRESS = re.compile(rf"^(?P<team>{_SLUG})/(?P<slug>{_SLUG})(?:@(?P<at>{_SLUG}))?$")
_MARKER = "__composition_reference_"
_MAX_SOURCE = 1_000_000
MAX_VERSION_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    written: str  # between the quotes
    team: str
    slug: str
    number: int | None  # "@3"
    environment: str  # "@production", or ""
    strip_before: bool  # "{%-"
    strip_after: bool  # "-%}"
    line: int

    @property
    def address(self) -> str:
        return f"{self.team}/{self.slug}"


FORMS = '{% include "team/slug" %}, "team/slug@3" or "team/slug@environment"'


def _refuse_form(line: int, what: str, written: str, where: dict) -> TemplateUnsafe:
    """What the sandbox answers for any include (400 ``template_unsafe``), saying how a
    prompt includes another."""
    return TemplateUnsafe(
        f"Line {line}: prompts cannot include other templates: {what} A prompt includes "
        f"another as {FORMS}.",
        {**where, "line": line, "reason": "include", "name": "include", "reference": written},
    )


def find(source: str, where: dict | None = None) -> list[Found]:
    """The references of ``source``, in order. Raises TemplateUnsafe for an include in
    any other form (a variable, a list, ``ignore missing``, ``with context``, an address
    that is not ``team/slug``)."""
    where = where or {}
    if "include" not in source or len(source) > _MAX_SOURCE:
        return []
    return list(_find(source, tuple(sorted(where.items()))))


@functools.lru_cache(maxsize=512)
def _find(source: str, where_items: tuple) -> tuple[Found, ...]:
    where = dict(where_items)
    candidates = list(_CANDIDATE.finditer(source))
    pieces, at = [], 0
    for index, match in enumerate(candidates):
        pieces += [source[at : match.start()], "{{ ", f"{_MARKER}{index} ", "}}"]
        pieces.append("\n" * match.group(0).count("\n"))
        at = match.end()
    pieces.append(source[at:])
    try:
        ast = ENVIRONMENT.parse("".join(pieces))
        seen = {node.name for node in ast.find_all(nodes.Name)}
        other = next(iter(ast.find_all(nodes.Include)), None)
    except Exception:  # noqa: BLE001 - the sandbox's own check reports a bad template
        return ()
    if other is not None:
        raise _refuse_form(
            other.lineno,
            "this include is not a reference to a prompt (no variable, list, "
            "'ignore missing' or 'with context').",
            "",
            where,
        )
    found = []
    for index, match in enumerate(candidates):
        if f"{_MARKER}{index}" not in seen:
            continue  # in {% raw %} or a comment: text
        line = source.count("\n", 0, match.start()) + 1
        written = match.group("written")
        address = ADDRESS.match(written)
        if address is None:
            raise _refuse_form(line, f"{written!r} is not the address of a prompt.", written, where)
        at_part = address.group("at") or ""
        number = int(at_part) if at_part.isdigit() else None
        found.append(
            Found(
                start=match.start(),
                end=match.end(),
                written=written,
                team=address.group("team"),
                slug=address.group("slug"),
                number=number,
                environment="" if number is not None else at_part,
                strip_before=match.group("left") == "-",
                strip_after=match.group("right") == "-",
                line=line,
            )
        )
    return tuple(found)


def checkable(source: str, where: dict) -> str:
    """``source`` with its references taken out (each line kept), for the sandbox's check."""
    found = find(source, where)
    if not found:
        return source
    pieces, at = [], 0
    for reference in found:
        tag = source[reference.start : reference.end]
        pieces += [source[at : reference.start], "\n" * tag.count("\n")]
        at = reference.end
    pieces.append(source[at:])
    return "".join(pieces)


def expand(source: str, found: list[Found], texts: list[str]) -> str:
    """``source`` with each reference replaced by its text, stripping whitespace of the
    source around a ``{%-`` / ``-%}`` marker as Jinja would."""
    pieces: list[str] = []
    at = 0
    strip_next = False
    for reference, text in zip(found, texts, strict=True):
        before = source[at : reference.start]
        if strip_next:
            before = before.lstrip()
        if reference.strip_before:
            before = before.rstrip()
        pieces += [before, text]
        strip_next = reference.strip_after
        at = reference.end
    rest = source[at:]
    pieces.append(rest.lstrip() if strip_next else rest)
    return "".join(pieces)
