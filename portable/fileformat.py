"""The exact text of the portable tree: what a file holds and how it is read back.

A tree is ``{relative path: bytes}``:

    <team>/team.yaml                  team name and environments
    <team>/<slug>/prompt.yaml         name, description, tags, environments -> live version
    <team>/<slug>/v0001.txt           a text version: YAML front matter, then the template
    <team>/<slug>/v0002.chat.yaml     a chat version: one YAML document with its messages

Writing is deterministic (sorted keys, block style, no line folding, UTF-8, LF, one
trailing newline), so the same data always gives the same bytes, and reading a file
back gives exactly the data that was written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import yaml

from registry_site.errors import Invalid

TEAM_FILE = "team.yaml"
PROMPT_FILE = "prompt.yaml"
VERSION_FILE = re.compile(r"^v(\d{4,9})\.(txt|chat\.yaml)$")
FRONT = "---\n"
# Characters that a plain text file cannot carry faithfully through editors and git;
# a template holding one is written quoted, inside the front matter.
_NOT_PLAIN = re.compile(r"[\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufeff]")


class FileProblem(Invalid):
    """A file of the tree that cannot be read; ``details.path`` names it."""


# ---------------------------------------------------------------- YAML


class _Dumper(yaml.SafeDumper):
    """Block style throughout; multi-line strings as literal blocks, for readable diffs."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        # Indent list items under their key, as most people write YAML by hand.
        return super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and value.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_yaml(data: Any) -> str:
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=True,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
        line_break="\n",
    )
    if yaml.safe_load(text) != data:
        # Literal blocks cannot hold every string (e.g. trailing spaces on a line);
        # PyYAML's own choice of quoting always reads back exactly.
        text = yaml.safe_dump(
            data, sort_keys=True, allow_unicode=True, default_flow_style=False, width=1_000_000
        )
    return text


# Files come from clients: what reading one may cost is bounded before it is loaded.
# Our files never hold aliases, nest a few levels deep and hold a few dozen values;
# a hand-written config may hold more, never thousands of levels or values.
MAX_YAML_NODES = 20_000  # values, lists and mappings in one file
MAX_YAML_DEPTH = 50
# libyaml when it is there: the same results, a fraction of the time and memory.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENED = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSED = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class TooCostly(FileProblem):
    """A file past a limit of the import: the whole import is refused, not one prompt.
    ``details.limit`` names the limit."""


def yaml_nodes(text: str, path: str) -> int:
    """The number of nodes of a YAML text, counted from its parser's events (nothing
    is built). Refuses aliases (``*name``: one alias can stand for a tree that doubles
    at each level, the "billion laughs"; our files never write them), nesting deeper
    than MAX_YAML_DEPTH and more than MAX_YAML_NODES nodes."""
    nodes = depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise TooCostly(
                f"{path}: YAML aliases (*{event.anchor}) are not accepted; write the value out.",
                {"path": path, "limit": "yaml_aliases"},
            )
        if isinstance(event, _CLOSED):
            depth -= 1
            continue
        if isinstance(event, _OPENED):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise TooCostly(
                    f"{path}: YAML nested more than {MAX_YAML_DEPTH} levels deep.",
                    {"path": path, "limit": "yaml_depth", "max": MAX_YAML_DEPTH},
                )
        elif not isinstance(event, yaml.ScalarEvent):
            continue
        nodes += 1
        if nodes > MAX_YAML_NODES:
            raise TooCostly(
                f"{path}: more than {MAX_YAML_NODES} YAML values in one file.",
                {"path": path, "limit": "yaml_values", "max": MAX_YAML_NODES},
            )
    return nodes


def load_yaml(text: str, path: str) -> Any:
    try:
        yaml_nodes(text, path)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise FileProblem(f"{path}: not valid YAML ({exc}).", {"path": path}) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # e.g. an integer of more digits than Python converts
        raise FileProblem(f"{path}: a value cannot be read ({exc}).", {"path": path}) from None


def _mapping(data: Any, path: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FileProblem(f"{path}: expected a mapping of fields.", {"path": path})
    return data


def _unknown(data: dict, known: set[str], path: str) -> None:
    extra = sorted(str(key) for key in data if key not in known)
    if extra:
        raise FileProblem(f"{path}: unknown fields {', '.join(extra)}.", {"path": path})


# ---------------------------------------------------------------- times


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # an unquoted time in a hand-written file
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FileProblem(
                f"{path}: {value!r} is not an ISO 8601 time.", {"path": path}
            ) from None
    else:
        raise FileProblem(f"{path}: a time must be ISO 8601 text.", {"path": path})
    if parsed.tzinfo is None:
        raise FileProblem(f"{path}: the time {value!r} needs a time zone (Z).", {"path": path})
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------- team.yaml

ENVIRONMENT_FIELDS = (
    "slug",
    "name",
    "order",
    "protected",
    "required_approvals",
    "is_default",
    "requires_previous",
)


def team_text(name: str, environments: list[dict]) -> str:
    return dump_yaml({"name": name, "environments": environments})


def read_team(text: str, path: str) -> dict:
    data = _mapping(load_yaml(text, path), path)
    _unknown(data, {"name", "environments"}, path)
    environments = data.get("environments") or []
    if not isinstance(environments, list) or not all(isinstance(e, dict) for e in environments):
        raise FileProblem(f"{path}: environments must be a list of mappings.", {"path": path})
    for env in environments:
        _unknown(env, set(ENVIRONMENT_FIELDS), path)
        if not isinstance(env.get("slug"), str):
            raise FileProblem(f"{path}: every environment needs a slug.", {"path": path})
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise FileProblem(f"{path}: name must be text.", {"path": path})
    return {"name": name, "environments": environments}


# ---------------------------------------------------------------- prompt.yaml


def prompt_text(
    *,
    name: str,
    description: str,
    tags: list[str],
    environments: dict[str, int],
    archived: bool,
    former_slugs: list[str],
) -> str:
    data: dict[str, Any] = {
        "name": name,
        "description": description,
        "tags": list(tags),
        "environments": dict(environments),
    }
    if archived:
        data["archived"] = True
    if former_slugs:
        data["former_slugs"] = sorted(former_slugs)
    return dump_yaml(data)


def read_prompt(text: str, path: str) -> dict:
    data = _mapping(load_yaml(text, path), path)
    _unknown(
        data, {"name", "description", "tags", "environments", "archived", "former_slugs"}, path
    )
    environments = data.get("environments") or {}
    if not isinstance(environments, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v > 0
        for k, v in environments.items()
    ):
        raise FileProblem(
            f"{path}: environments maps an environment to a version number.", {"path": path}
        )
    former = data.get("former_slugs") or []
    if not isinstance(former, list) or not all(isinstance(s, str) for s in former):
        raise FileProblem(f"{path}: former_slugs is a list of slugs.", {"path": path})
    return {
        "name": data.get("name"),
        "description": data.get("description") or "",
        "tags": data.get("tags") or [],
        "environments": environments,
        "archived": bool(data.get("archived", False)),
        "former_slugs": former,
    }


# ---------------------------------------------------------------- versions


def version_name(number: int, kind: str) -> str:
    return f"v{number:04d}.chat.yaml" if kind == "chat" else f"v{number:04d}.txt"


def _terse_variables(variables: list[dict]) -> list[dict]:
    """Each variable with only what differs from a plain required one: what a person
    would write, and what reads back to the same list."""
    terse = []
    for variable in variables:
        item: dict[str, Any] = {"name": variable["name"]}
        if variable.get("description"):
            item["description"] = variable["description"]
        if variable.get("default") is not None:
            item["default"] = variable["default"]
        elif not variable.get("required", True):
            item["required"] = False
        terse.append(item)
    return terse


def _meta(version: dict) -> dict[str, Any]:
    meta: dict[str, Any] = {"created_at": format_time(version["created_at"])}
    if version.get("author"):
        meta["author"] = version["author"]
    if version.get("config"):
        meta["config"] = version["config"]
    if version.get("note"):
        meta["note"] = version["note"]
    if version.get("variables"):
        meta["variables"] = _terse_variables(version["variables"])
    return meta


def version_text(version: dict) -> str:
    """The file of one version: ``version`` has kind, template or messages, variables,
    config, note, author (a username or None) and created_at."""
    meta = _meta(version)
    if version["kind"] == "chat":
        meta["messages"] = [
            {"role": m["role"], "content": m["content"]} for m in version["messages"]
        ]
        return dump_yaml(meta)
    template = version["template"]
    if _NOT_PLAIN.search(template):
        meta["template"] = template
        return FRONT + dump_yaml(meta) + FRONT
    return FRONT + dump_yaml(meta) + FRONT + template + "\n"


VERSION_FIELDS = {"created_at", "author", "config", "note", "variables"}


def read_version(name: str, text: str, path: str) -> dict:
    """The data of a version file; a text file without front matter is all template."""
    match = VERSION_FILE.match(name)
    if match is None:
        raise FileProblem(f"{path}: not a version file name.", {"path": path})
    number, kind = int(match.group(1)), "chat" if match.group(2) == "chat.yaml" else "text"
    if kind == "chat":
        meta = _mapping(load_yaml(text, path), path)
        _unknown(meta, VERSION_FIELDS | {"messages"}, path)
        template, messages = "", meta.get("messages")
        if messages is None:
            raise FileProblem(f"{path}: a chat version needs messages.", {"path": path})
    else:
        meta, template = _split_front(text, path)
        _unknown(meta, VERSION_FIELDS | {"template"}, path)
        if "template" in meta:
            template = meta["template"]
        messages = None
    return {
        "number": number,
        "kind": kind,
        "template": template,
        "messages": messages,
        "variables": meta.get("variables") or [],
        "config": meta.get("config") or {},
        "note": meta.get("note") or "",
        "author": _author(meta.get("author"), path),
        "created_at": parse_time(meta.get("created_at"), path),
    }


def _split_front(text: str, path: str) -> tuple[dict, str]:
    if not text.startswith(FRONT):
        return {}, text.removesuffix("\n")
    end = text.find("\n" + FRONT, len(FRONT) - 1)
    if end == -1:
        raise FileProblem(f"{path}: the front matter has no closing '---' line.", {"path": path})
    meta = _mapping(load_yaml(text[len(FRONT) : end + 1], path), path)
    body = text[end + 1 + len(FRONT) :]
    return meta, body.removesuffix("\n")


def yaml_of(name: str, text: str) -> str:
    """The part of a file of the tree that is read as YAML ("" for none)."""
    if not VERSION_FILE.match(name) or name.endswith(".chat.yaml"):
        return text
    end = text.find("\n" + FRONT, len(FRONT) - 1) if text.startswith(FRONT) else -1
    return text[len(FRONT) : end + 1] if end != -1 else ""


def _author(value: Any, path: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 150 or "\x00" in value:
        raise FileProblem(f"{path}: author is a username.", {"path": path})
    return value
