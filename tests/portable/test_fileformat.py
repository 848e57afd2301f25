"""Every version reads back from its file exactly as it was written."""

from datetime import UTC, datetime

import pytest

from portable import fileformat as ff

ODD_TEXTS = [
    "plain",
    "ends with a newline\n",
    "---\nstarts like front matter\n---\n",
    "trailing spaces   \n  and tabs\t\nlast",
    "unicode: 日本語 🙂 — “quotes”",
    "windows\r\nline ends",
    "{% raw %}{{ x }}{% endraw %} and {{ y }}",
    "\n\nleading blank lines",
    "a line with: a colon\n- and a dash",
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_a_text_version_reads_back_exactly(text):
    version = {
        "kind": "text",
        "template": text,
        "messages": [],
        "variables": [{"name": "y", "description": "", "default": None, "required": True}],
        "config": {"stop": ["\n\n"], "n": 1, "t": 0.5},
        "note": text,
        "author": "ed",
        "created_at": datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    }
    written = ff.version_text(version)
    assert written.endswith("\n") and written == ff.version_text(version)
    read = ff.read_version("v0001.txt", written, "x")
    assert read["template"] == text
    assert read["note"] == text
    assert read["config"] == version["config"]
    assert read["created_at"] == version["created_at"]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_a_chat_version_reads_back_exactly(text):
    version = {
        "kind": "chat",
        "template": "",
        "messages": [{"role": "system", "content": text}],
        "variables": [],
        "config": {},
        "note": "",
        "author": None,
        "created_at": datetime(2025, 1, 2, tzinfo=UTC),
    }
    read = ff.read_version("v0002.chat.yaml", ff.version_text(version), "x")
    assert read["messages"] == version["messages"] and read["author"] is None


def test_a_hand_written_file_without_front_matter_is_all_template():
    read = ff.read_version("v0001.txt", "Hello {{ name }}\n", "x")
    assert read["template"] == "Hello {{ name }}" and read["created_at"] is None


def test_unknown_fields_are_refused():
    with pytest.raises(ff.FileProblem, match="unknown fields colour"):
        ff.read_version("v0001.txt", "---\ncolour: red\n---\nHi\n", "x")
