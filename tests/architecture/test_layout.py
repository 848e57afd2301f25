"""The shape of the house: no import cycle, no app that holds most of the code, no
module that grew past what one reader takes in. `lint-imports` (make test) keeps the
dependency direction between apps; these keep what it does not check."""

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = [
    "registry_site", "accounts", "webhooks", "prompts", "reviews", "releases", "composition",
    "serving", "portable", "audit", "runs", "evaluations",
]  # fmt: skip
MAX_SHARE = 0.40
MAX_MODULE_LINES = 500


def _product_modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), imports inside
    functions included: grimp reads every import statement of a module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph(*APPS, cache_dir=None)
    assert _cycles(graph) == []


def test_a_cycle_would_be_found(tmp_path, monkeypatch):
    # The check itself can fail: two modules importing each other inside functions.
    package = tmp_path / "circle"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from circle import b\n")
    (package / "b.py").write_text("def g():\n    from circle import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles(grimp.build_graph("circle", cache_dir=None)) == [["circle.a", "circle.b"]]


def test_no_app_holds_more_than_its_share_of_the_code():
    lines: dict[str, int] = dict.fromkeys(APPS, 0)
    for path in _product_modules():
        lines[path.relative_to(ROOT).parts[0]] += len(path.read_text().splitlines())
    total = sum(lines.values())
    shares = {app: round(count / total, 3) for app, count in lines.items()}
    assert max(shares.values()) <= MAX_SHARE, shares


@pytest.mark.parametrize("path", _product_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_grows_past_a_readers_reach(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
