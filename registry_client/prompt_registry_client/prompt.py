"""A resolved prompt, and the small local renderer used when the registry is away."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import MissingVariables

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

#: What ``fallbacks`` accepts per address: a text template, chat messages, or a dict
#: with ``template`` or ``messages`` and optionally ``variables`` and ``config``.
FallbackSpec = Union[str, list, dict]


@dataclass(frozen=True)
class Prompt:
    """One version of a prompt as ``resolve`` returned it.

    Instances are shared with the client's cache: treat ``messages``, ``variables`` and
    ``config`` as read-only. ``source`` says where this copy came from: ``network``,
    ``cache`` (fresh, no request), ``revalidated`` (304), ``stale`` (an old copy served
    while refreshing or while the registry is unreachable) or ``fallback``.
    """

    team: str
    slug: str
    name: str
    kind: str
    version: int | None
    environment: str | None
    template: str
    messages: list[dict[str, str]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    source: str = "network"
    #: The prompts composed into this one: ``[{"address", "version", "environment"}]``.
    dependencies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.team}/{self.slug}"

    @property
    def is_fallback(self) -> bool:
        """True when the registry was unreachable and nothing was cached, so this is the
        template configured in the client, not anything the registry ever served."""
        return self.source == "fallback"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "network") -> Prompt:
        return cls(
            team=str(data.get("team", "")),
            slug=str(data.get("slug", "")),
            name=str(data.get("name") or ""),
            kind=str(data.get("kind") or "text"),
            version=data.get("version"),
            environment=data.get("environment"),
            template=str(data.get("template") or ""),
            messages=list(data.get("messages") or []),
            variables=list(data.get("variables") or []),
            config=dict(data.get("config") or {}),
            content_hash=str(data.get("content_hash") or ""),
            source=source,
            dependencies=list(data.get("dependencies") or []),
        )

    @classmethod
    def fallback(cls, address: str, spec: FallbackSpec) -> Prompt:
        """A prompt built from a client-side fallback; placeholders without a declared
        variable are required, as the registry would detect them."""
        team, _, slug = address.partition("/")
        if isinstance(spec, str):
            spec = {"template": spec}
        elif isinstance(spec, list):
            spec = {"messages": spec}
        if not isinstance(spec, dict) or not (spec.get("template") or spec.get("messages")):
            raise TypeError(f"Fallback for {address} needs a template or chat messages.")
        messages = [
            {"role": m["role"], "content": m["content"]} for m in spec.get("messages") or []
        ]
        return cls(
            team=team,
            slug=slug,
            name=address,
            kind="chat" if messages else "text",
            version=None,
            environment=None,
            template=spec.get("template") or "",
            messages=messages,
            variables=list(spec.get("variables") or []),
            config=dict(spec.get("config") or {}),
            source="fallback",
        )

    def render(
        self, values: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> str | list[dict[str, str]]:
        """Fill ``{{ name }}`` placeholders locally: a string for a text prompt, a list of
        ``{role, content}`` for a chat prompt.

        Meant for fallbacks and offline use, so it follows the registry's rules (given
        values win, then declared defaults, optional ones become "") and raises one
        ``MissingVariables`` naming every missing value. Anything beyond plain
        placeholders (Jinja statements, filters) raises ValueError: use
        ``RegistryClient.render`` for those rather than ship a half-rendered prompt.
        """
        given = {**(values or {}), **kwargs}
        texts = [m["content"] for m in self.messages] if self.kind == "chat" else [self.template]
        for text in texts:
            rest = PLACEHOLDER.sub("", text)
            if "{{" in rest or "{%" in rest or "{#" in rest:
                raise ValueError(
                    f"{self.address} uses template syntax beyond {{{{ name }}}}; "
                    "render it on the server with RegistryClient.render()."
                )
        declared = {v["name"]: v for v in self.variables}
        names = list(declared)
        for text in texts:
            names += [n for n in PLACEHOLDER.findall(text) if n not in names]
        resolved: dict[str, Any] = {}
        missing = []
        for name in names:
            variable = declared.get(name, {})
            if name in given:
                resolved[name] = given[name]
            elif variable.get("default") is not None:
                resolved[name] = variable["default"]
            elif not variable.get("required", True):
                resolved[name] = ""
            else:
                missing.append(name)
        if missing:
            raise MissingVariables(f"Missing values for: {', '.join(missing)}.", missing=missing)

        def fill(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: str(resolved[m.group(1)]), text)

        if self.kind == "chat":
            return [{"role": m["role"], "content": fill(m["content"])} for m in self.messages]
        return fill(self.template)
