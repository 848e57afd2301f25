"""scan_prompts finds exactly the inline prompts of tests/scanning_sample, and
--apply registers them once."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portable.scanning import scan_path, scan_source
from prompts.models import Prompt

SAMPLE = Path(__file__).resolve().parent.parent / "scanning_sample"

EXPECTED = {
    # (file, line, kind, suggested slug, variables)
    ("app/agents.py", 10, "keyword", "agents-summarize-system", ()),
    ("app/agents.py", 17, "function-return", "agents-build-prompt", ("customer", "days")),
    ("app/agents.py", 23, "f-string", "agents-drafter-system-prompt", ("tone",)),
    ("app/agents.py", 28, "dict-entry", "agents-system-prompt", ()),
    ("app/chains.py", 4, "from-template", "chains-summary-chain-prompt", ("max_words", "article")),
    ("app/chains.py", 8, "chat-template", "chains-qa-template", ("question",)),
    ("app/chains.py", 16, "from-template", "chains-translate", ("language", "text")),
    ("app/chains.py", 24, "message-class", "chains-kickoff", ()),
    ("app/chains.py", 30, "format-template", "chains-email-prompt", ("first_name", "feature")),
    ("app/support_bot.py", 11, "assignment", "support-bot-system-prompt", ()),
    ("app/support_bot.py", 13, "assignment", "support-bot-refund-prompt", ()),
    (
        "app/support_bot.py",
        26,
        "f-string",
        "support-bot-classify-prompt",
        ("product", "ticket_text"),
    ),
    (
        "app/support_bot.py",
        42,
        "messages",
        "support-bot-answer-messages",
        ("user_name", "question"),
    ),
}


def test_it_finds_exactly_the_inline_prompts_of_the_sample():
    findings, problems = scan_path(SAMPLE)
    assert problems == []
    assert {(f.path, f.line, f.kind, f.slug, f.variables) for f in findings} == EXPECTED
    assert len({f.kind for f in findings}) >= 10


def test_strings_that_are_not_prompts_are_left_alone():
    texts = {f.template for f in scan_path(SAMPLE)[0]}
    for not_a_prompt in [
        "The support bot answers",  # a docstring
        "Hello and welcome",  # a name that is not a prompt's
        "SELECT id",  # SQL under a prompt-like name
        "Yes or no?",  # too short
        "Classifying the ticket",  # a log message
        "Starting the support bot",  # a print
        "Something went wrong",  # a dict entry that is not a prompt
    ]:
        assert not any(t.startswith(not_a_prompt) for t in texts), not_a_prompt


def test_fstrings_and_format_fields_become_template_variables():
    findings = {f.slug: f for f in scan_path(SAMPLE)[0]}
    assert findings["support-bot-classify-prompt"].template == (
        "Classify this ticket for {{ product }} into billing, bug or question:\n{{ ticket_text }}"
    )
    assert findings["chains-qa-template"].messages == (
        ("system", "You are a librarian. Answer from the catalogue only; say when unsure."),
        ("user", "{{ question }}"),
    )
    assert findings["support-bot-refund-prompt"].template == (
        "Explain our refund policy to the customer.\n"
        "Refunds are possible within 30 days of purchase."
    )


def test_literal_jinja_markup_in_code_is_escaped():
    source = 'SYSTEM_PROMPT = f"Answer in JSON like {{{{ \\"label\\": 1 }}}} for {name} only."\n'
    (finding,) = scan_source(source, "bot.py")
    assert finding.template == (
        "Answer in JSON like {{ '{{' }} \"label\": 1 }} for {{ name }} only."
    )
    assert finding.variables == ("name",)


def test_scan_apply_registers_each_prompt_once(people, tmp_path):
    out = StringIO()
    call_command("scan_prompts", str(SAMPLE), "--apply", "--team", "support", "--as", "alice",
                 stdout=out)  # fmt: skip
    registered = Prompt.objects.filter(team__slug="support")
    assert [p.tags for p in registered] == [["scanned"]] * 13
    chat = Prompt.objects.get(team__slug="support", slug="chains-qa-template")
    assert chat.latest_version.kind == "chat"
    assert "app/chains.py:8" in chat.description
    assert 'registry.get("support/agents-build-prompt").render(customer=customer, days=days)' in (
        out.getvalue()
    )
    again = StringIO()
    call_command("scan_prompts", str(SAMPLE), "--apply", "--team", "support", "--as", "alice",
                 stdout=again)  # fmt: skip
    assert len(re.findall(r"\bunchanged\b", again.getvalue())) == 13
    assert Prompt.objects.filter(team__slug="support").count() == 13


def test_scan_apply_needs_a_team_editor(people):
    with pytest.raises(CommandError, match="Not registered"):
        call_command("scan_prompts", str(SAMPLE), "--apply", "--team", "support", "--as", "vic",
                     stdout=StringIO())  # fmt: skip
