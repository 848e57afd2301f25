"""Finding prompts written inline in Python code, by reading its syntax tree.

What counts as a prompt (``Finding.kind``):

* ``assignment``: a string assigned to a prompt-like name (``SYSTEM_PROMPT``,
  ``system_prompt``, ``*_prompt``, ``template``, ``prompt_template``, ``instructions``),
  also annotated, or as an attribute (``self.system_prompt = ...``);
* ``f-string``: the same with an f-string; ``{name}`` becomes ``{{ name }}``;
* ``keyword``: a string passed as ``system=``, ``system_prompt=``, ``prompt=`` or
  ``instructions=`` to any call;
* ``dict-entry``: a string under a prompt-like key of a dict literal;
* ``function-return``: what a function named like ``build_prompt`` returns;
* ``messages``: a list of ``{"role": ..., "content": ...}`` dicts (a chat prompt);
* ``from-template``: ``PromptTemplate.from_template(...)`` and ``PromptTemplate(template=...)``;
* ``chat-template``: ``ChatPromptTemplate.from_messages([("system", ...), ...])``;
* ``message-class``: ``SystemMessage(...)`` / ``HumanMessage(...)`` with a string;
* ``format-template``: ``"... {name} ...".format(...)`` assigned to a prompt-like name.

``textwrap.dedent``/``inspect.cleandoc`` around a string and ``+`` between strings are
looked through. Short strings (fewer than 20 characters or 3 words), SQL, docstrings,
log and print calls are not prompts. ``{field}`` placeholders of str.format-style
templates (LangChain's too) become ``{{ field }}``; literal Jinja markup is escaped.
"""

from __future__ import annotations

import ast
import inspect
import re
import string
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

PROMPT_NAME = re.compile(
    r"^(system_?prompt|prompt|template|prompt_?template|instructions|.+_prompt|"
    r".+_prompt_?template|.+_instructions)$",
    re.IGNORECASE,
)
PROMPT_KEYWORDS = {"system", "system_prompt", "prompt", "instructions"}
CHAT_ROLES = {"system", "user", "assistant", "developer"}
LANGCHAIN_ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant",
                   "assistant": "assistant"}  # fmt: skip
MESSAGE_CLASSES = {"SystemMessage": "system", "HumanMessage": "user", "AIMessage": "assistant"}
SQL = re.compile(r"^\s*(select|insert|update|delete|create|alter|drop|with)\s", re.IGNORECASE)
MIN_CHARS = 20
GENERIC_NAMES = {"prompt", "template", "system", "system_prompt", "instructions", "messages"}
MIN_WORDS = 3


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    name: str  # the name it had in the code, or "" when it had none
    slug: str
    template: str = ""
    messages: tuple[tuple[str, str], ...] = ()
    variables: tuple[str, ...] = ()

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)


@dataclass
class _Text:
    """A string from the code, turned into template text."""

    template: str
    variables: list[str] = field(default_factory=list)
    plain: str = ""  # the literal text alone, for the "is it prose?" test


# ---------------------------------------------------------------- strings -> templates


def _escape(text: str) -> str:
    """Literal text that Jinja must print as is."""
    return re.sub(r"(\{\{|\{%|\{#)", lambda m: "{{ '" + m.group(1) + "' }}", text)


def _variable(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
            return expr.attr
        return f"{_variable(expr.value)}_{expr.attr}"
    name = re.sub(r"\W+", "_", ast.unparse(expr)).strip("_")
    return name if name and not name[0].isdigit() else f"value_{name}"


def _join(parts: list[_Text]) -> _Text:
    variables: list[str] = []
    for part in parts:
        variables += [v for v in part.variables if v not in variables]
    return _Text("".join(p.template for p in parts), variables, "".join(p.plain for p in parts))


def _placeholder(name: str) -> _Text:
    return _Text("{{ " + name + " }}", [name])


def _from_format(text: str) -> _Text | None:
    """A str.format-style template, or None when the text has no named fields."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return None
    if not any(name for _, name, _, _ in fields):
        return None
    parts = []
    for literal, name, _, _ in fields:
        parts.append(_Text(_escape(literal), [], literal))
        if name is not None:
            if not name.isidentifier():
                return None
            parts.append(_placeholder(name))
    return _join(parts)


def _text_of(node: ast.expr, *, format_style: bool = False) -> _Text | None:
    """The template text of a string expression, or None when it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        converted = _from_format(node.value) if format_style else None
        return converted or _Text(_escape(node.value), [], node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(_Text(_escape(value.value), [], value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(_placeholder(_variable(value.value)))
        return _join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text_of(node.left), _text_of(node.right)
        return _join([left, right]) if left and right else None
    if isinstance(node, ast.Call) and _call_name(node) in ("dedent", "cleandoc") and node.args:
        inner = _text_of(node.args[0], format_style=format_style)
        if inner is None:
            return None
        clean = textwrap.dedent if _call_name(node) == "dedent" else inspect.cleandoc
        # The usual """\n ... \n""" layout leaves blank lines at both ends.
        return _Text(clean(inner.template).strip("\n"), inner.variables, inner.plain)
    return None


def _is_prose(text: _Text) -> bool:
    plain = text.plain.strip()
    return len(plain) >= MIN_CHARS and len(plain.split()) >= MIN_WORDS and not SQL.match(plain)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _owner_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return ""


# ---------------------------------------------------------------- the walk


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path = path
        self.module = re.sub(r"[^a-z0-9]+", "-", Path(path).stem.lower()).strip("-")
        self.findings: list[Finding] = []
        self.names: list[str] = []  # the assignment target or function around a node
        self.claimed: set[int] = set()  # nodes already part of a finding
        self.scopes: list[str] = []  # enclosing classes and functions, for generic names

    def add(self, node: ast.AST, kind: str, text: _Text | None = None, messages=None) -> None:
        name = self.names[-1] if self.names else ""
        variables = list(text.variables) if text else []
        for _, content in messages or []:
            variables += [v for v in content.variables if v not in variables]
        self.findings.append(
            Finding(
                path=self.path,
                line=node.lineno,
                kind=kind,
                name=name,
                slug=self._slug(name, kind, node.lineno),
                template=text.template if text else "",
                messages=tuple((role, c.template) for role, c in messages or []),
                variables=tuple(variables),
            )
        )
        self.claimed.update(id(n) for n in ast.walk(node))

    def _slug(self, name: str, kind: str, line: int) -> str:
        if not name:
            name = f"{kind}-{line}"
        if name.lower() in GENERIC_NAMES and self.scopes:
            name = f"{self.scopes[-1]}-{name}"  # "prompt" alone says nothing
        words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        return f"{self.module}-{words}"[:64].strip("-")

    # -- places that name a prompt

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assigned([_target_name(t) for t in node.targets], node.value, node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assigned([_target_name(node.target)], node.value, node)

    def _assigned(self, names: list[str], value: ast.expr, node: ast.stmt) -> None:
        name = next((n for n in names if n), "")
        self.names.append(name)
        if PROMPT_NAME.match(name):
            self._named_value(value, node)
        self.generic_visit(node)
        self.names.pop()

    def _named_value(self, value: ast.expr, node: ast.AST) -> None:
        if isinstance(value, ast.Call) and _call_name(value) == "format":
            owner = value.func.value if isinstance(value.func, ast.Attribute) else None
            text = _text_of(owner, format_style=True) if owner is not None else None
            if text and text.variables and _is_prose(text):
                self.add(node, "format-template", text)
            return
        text = _text_of(value)
        if text and _is_prose(text):
            self.add(node, "f-string" if _has_fstring(value) else "assignment", text)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scopes.append(node.name)
        self.generic_visit(node)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.names.append(node.name)
        dunder = node.name.startswith("__")
        if not dunder:
            self.scopes.append(node.name)
        if PROMPT_NAME.match(node.name) or node.name.startswith("build_prompt"):
            for statement in ast.walk(node):
                if isinstance(statement, ast.Return) and statement.value is not None:
                    text = _text_of(statement.value)
                    if text and _is_prose(text):
                        self.add(statement, "function-return", text)
        self.generic_visit(node)
        self.names.pop()
        if not dunder:
            self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            named = isinstance(key, ast.Constant) and isinstance(key.value, str)
            if named and PROMPT_NAME.match(key.value) and id(value) not in self.claimed:
                text = _text_of(value)
                if text and _is_prose(text):
                    self.names.append(key.value)
                    self.add(value, "dict-entry", text)
                    self.names.pop()
        self.generic_visit(node)

    def visit_List(self, node: ast.List) -> None:
        if id(node) not in self.claimed:
            messages = _role_messages(node)
            if messages and any(_is_prose(c) for _, c in messages):
                self.names.append("messages")  # the list's own name, not the call result's
                self.add(node, "messages", messages=messages)
                self.names.pop()
        self.generic_visit(node)

    # -- calls

    def visit_Call(self, node: ast.Call) -> None:
        if id(node) not in self.claimed:
            self._call(node)
        self.generic_visit(node)

    def _call(self, node: ast.Call) -> None:
        name, owner = _call_name(node), _owner_name(node)
        if name in ("info", "debug", "warning", "error", "exception", "print", "critical"):
            self.claimed.update(id(n) for n in ast.walk(node))
            return
        if name == "from_template" or (name == "PromptTemplate" and not owner):
            source = node.args[0] if node.args else _keyword(node, "template")
            text = _text_of(source, format_style=True) if source is not None else None
            if text:
                self.add(node, "from-template", text)
            return
        if name == "from_messages" and node.args and isinstance(node.args[0], ast.List):
            messages = _tuple_messages(node.args[0])
            if messages:
                self.add(node, "chat-template", messages=messages)
            return
        if name in MESSAGE_CLASSES:
            source = node.args[0] if node.args else _keyword(node, "content")
            text = _text_of(source) if source is not None else None
            if text and _is_prose(text):
                self.add(node, "message-class", text)
            return
        for keyword in node.keywords:
            if keyword.arg in PROMPT_KEYWORDS and id(keyword.value) not in self.claimed:
                text = _text_of(keyword.value)
                if text and _is_prose(text):
                    self.names.append(keyword.arg)
                    self.add(keyword.value, "keyword", text)
                    self.names.pop()

    def visit_Expr(self, node: ast.Expr) -> None:
        # A bare string statement is a docstring or a comment, never a prompt.
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)


def _target_name(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ""


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _has_fstring(node: ast.expr) -> bool:
    return any(isinstance(n, ast.JoinedStr) for n in ast.walk(node))


def _role_messages(node: ast.List) -> list[tuple[str, _Text]] | None:
    """[{"role": "system", "content": ...}, ...] -> [(role, text)], or None."""
    messages = []
    for item in node.elts:
        if not isinstance(item, ast.Dict):
            return None
        entries = {
            k.value: v
            for k, v in zip(item.keys, item.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
        role, content = entries.get("role"), entries.get("content")
        if not (isinstance(role, ast.Constant) and role.value in CHAT_ROLES) or content is None:
            return None
        text = _text_of(content)
        if text is None:
            if not isinstance(content, ast.Name | ast.Attribute):
                return None
            text = _placeholder(_variable(content))
        messages.append((role.value, text))
    return messages or None


def _tuple_messages(node: ast.List) -> list[tuple[str, _Text]] | None:
    """LangChain's [("system", "..."), ("human", "{question}")] -> [(role, text)]."""
    messages = []
    for item in node.elts:
        if not (isinstance(item, ast.Tuple) and len(item.elts) == 2):
            continue  # MessagesPlaceholder and friends: filled at run time
        role, content = item.elts
        if not (isinstance(role, ast.Constant) and role.value in LANGCHAIN_ROLES):
            return None
        text = _text_of(content, format_style=True)
        if text is None:
            return None
        messages.append((LANGCHAIN_ROLES[role.value], text))
    return messages or None


# ---------------------------------------------------------------- entry points


def scan_source(source: str, path: str = "<string>") -> list[Finding]:
    """The inline prompts of one Python source text, in order of appearance; slugs are
    made unique within the text."""
    scanner = _Scanner(path)
    scanner.visit(ast.parse(source, filename=path))
    return _unique_slugs(sorted(scanner.findings, key=lambda f: (f.line, f.kind)))


def scan_path(root: Path) -> tuple[list[Finding], list[str]]:
    """Every finding under ``root`` (a file or a folder of .py files), with unique
    slugs; and the files that could not be read or parsed."""
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    findings: list[Finding] = []
    problems: list[str] = []
    for file in files:
        relative = file.relative_to(root.parent if root.is_file() else root).as_posix()
        if any(part.startswith(".") or part in ("venv", "node_modules", "__pycache__")
               for part in Path(relative).parts):  # fmt: skip
            continue
        try:
            findings += scan_source(file.read_text(encoding="utf-8"), relative)
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{relative}: {exc}")
    return _unique_slugs(findings), problems


def _unique_slugs(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, int] = {}
    unique = []
    for finding in findings:
        count = seen.get(finding.slug, 0) + 1
        seen[finding.slug] = count
        slug = finding.slug if count == 1 else f"{finding.slug[:60]}-{count}"
        unique.append(replace(finding, slug=slug))
    return unique
