"""A strict Content-Security-Policy on every page, and templates that live within it."""

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

EXPECTED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in parts}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/prompts/",
        "/prompts/new/",
        "/p/support/ticket-classifier/",
        "/p/support/ticket-classifier/v/1/",
        "/teams/support/",
        "/reviews/",
        "/api/docs/",
        "/admin/",
    ],
)
def test_pages_carry_the_strict_policy(people, prompt, url):
    response = signed_in(people["alice"] if url != "/admin/" else people["stella"]).get(url)
    assert response.status_code == 200
    assert policy(response) == EXPECTED


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/docs/", "/healthz", "/nowhere/"])
def test_anonymous_pages_carry_it_too(db, url):
    response = Client().get(url)
    assert policy(response) == EXPECTED


def test_the_api_docs_load_nothing_from_elsewhere(people):
    client = signed_in(people["vic"])
    html = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "<script>" not in html and "<style" not in html
    script = next(s for s in sources if "script" in s and s.startswith("/api/docs/"))
    start = client.get(script)
    assert start.status_code == 200
    assert start["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in start.content.decode()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"""\son[a-z]+\s*=""", re.I)
STYLE = re.compile(r"""\sstyle\s*=|<style""", re.I)
HTMX_EVAL = re.compile(r"""\shx-on|\bjs:|javascript:""", re.I)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_no_template_holds_inline_script_handlers_or_styles(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.findall(text), "inline <script>"
    assert not HANDLER.findall(text), "inline event handler"
    assert not STYLE.findall(text), "inline style"
    assert not HTMX_EVAL.findall(text), "code for htmx to evaluate"


def test_the_scan_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js" defer></script>')
    assert HANDLER.search('<button onclick="x()">')
    assert STYLE.search('<p style="color: red">') and STYLE.search("<style>p {}</style>")
    assert HTMX_EVAL.search('<form hx-on:submit="x()">')
    assert len(TEMPLATES) > 20


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(people):
    html = signed_in(people["vic"]).get("/").content.decode()
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html
