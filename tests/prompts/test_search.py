"""Search: words and word prefixes, every word, in one document per prompt.

The same matching on SQLite and PostgreSQL; on PostgreSQL a GIN index serves it.
vic views support; oscar is the outsider whose billing prompt must never show.
"""

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from portable.export import export_team
from portable.importing import import_tree
from prompts import services
from prompts.migrations import __name__ as migrations_package
from prompts.models import Prompt
from prompts.search import SEARCH_INDEX, _matching, find_prompts, search_document, words_of

fill = __import__(f"{migrations_package}.0006_search_text", fromlist=["fill_search_text"])


def found(user, q: str) -> list[str]:
    return [p.slug for p in find_prompts(user, q=q)]


@pytest.fixture
def chat(people):
    return services.create_prompt(
        people["ed"],
        people["support"],
        name="Refund helper",
        slug="refunds",
        description="Answers questions about money back",
        tags=["billing-support", "tone:friendly"],
        messages=[
            {"role": "system", "content": "You are a courteous agent of {{ company }}."},
            {"role": "user", "content": "Reimbursement request: {{ request }}"},
        ],
    )


@pytest.fixture
def vic(people):
    return people["vic"]


@pytest.mark.parametrize(
    "q, slugs",
    [
        ("classifier", ["ticket-classifier"]),  # a word of the name
        ("classif", ["ticket-classifier"]),  # a prefix
        ("CLASSIF", ["ticket-classifier"]),  # any case
        ("ticket-classifier", ["ticket-classifier"]),  # the slug
        ("triage", ["ticket-classifier"]),  # a tag
        ("friendly", ["refunds"]),  # a word of a tag
        ("sorts", ["ticket-classifier"]),  # the description
        ("money back", ["refunds"]),
        ("courteous", ["refunds"]),  # a chat message
        ("reimburse", ["refunds"]),  # the last chat message, by prefix
        ("product", ["ticket-classifier"]),  # a variable in the template
        ("ticket_text", ["ticket-classifier"]),
        ("sorts courteous", []),  # every word must match, in the same prompt
        ("classify acme product", []),  # "acme" is a default value, not the template
        ("ifier", []),  # inside a word is not a word prefix
    ],
)
def test_it_finds_words_and_prefixes_and_needs_every_word(vic, prompt, chat, q, slugs):
    assert found(vic, q) == slugs


@pytest.mark.parametrize(
    "q, slugs",
    [
        ("'classif'", ["ticket-classifier"]),
        ('"classif', ["ticket-classifier"]),
        ("classif & !ticket | (text", ["ticket-classifier"]),  # "!" is no negation
        ("classif:* <-> ticket", ["ticket-classifier"]),
        ("\\classif\\", ["ticket-classifier"]),
        ("%classif_", ["ticket-classifier"]),
        ("classif' OR 1=1; --", []),  # "or" and "1" are words it lacks
        ("classif" + " t" * 300, ["ticket-classifier"]),  # more words than a search keeps
    ],
)
def test_operators_and_quotes_in_a_search_are_plain_separators(
    vic, prompt, billing_prompt, q, slugs
):
    assert found(vic, q) == slugs


def test_punctuation_alone_finds_nothing(vic, prompt):
    assert found(vic, "&|!:*()'") == []
    assert found(vic, "   ") == ["ticket-classifier"]  # no search at all


def test_unicode_words_are_words(people, vic):
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Réponse client 日本語",
        slug="reponse",
        template="Ｃafé straße {{ x }}",
    )
    for q in ["réponse", "RÉPON", "日本語", "café", "straße"]:
        assert found(vic, q) == ["reponse"], q


def test_a_new_version_changes_what_matches(people, vic, prompt):
    assert found(vic, "classify") == ["ticket-classifier"]
    services.add_version(people["ed"], prompt, template="Route {{ ticket_text }} to a queue")
    assert found(vic, "classify") == []
    assert found(vic, "route queue") == ["ticket-classifier"]


def test_a_new_chat_version_is_searched_by_its_messages(people, vic, prompt):
    services.add_version(
        people["ed"], prompt, messages=[{"role": "system", "content": "Escalate politely"}]
    )
    assert found(vic, "escalat") == ["ticket-classifier"]


def test_a_rename_and_new_tags_change_what_matches(people, vic, prompt):
    services.update_prompt(
        people["ed"], prompt, name="Queue router", slug="queue-router", tags=["routing"]
    )
    assert found(vic, "router") == ["queue-router"]
    assert found(vic, "routing") == ["queue-router"]
    assert found(vic, "triage") == []
    assert found(vic, "classify") == ["queue-router"]  # the template did not change
    services.update_prompt(people["ed"], prompt, description="Picks the team")
    assert found(vic, "picks") == ["queue-router"]


def test_another_teams_prompt_never_appears(people, vic, prompt, billing_prompt):
    assert found(vic, "secret billing") == []
    assert found(vic, "invoice") == []
    assert found(people["oscar"], "invoice") == ["invoice-reminder"]
    assert found(people["oscar"], "classif") == []


def test_matches_come_in_the_lists_order_by_team_and_slug(people, vic, prompt):
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Alpha",
        slug="a-first-by-slug",
        template="About a ticket classifier",
    )
    assert found(vic, "ticket classif") == ["a-first-by-slug", "ticket-classifier"]
    assert found(vic, "about") == ["a-first-by-slug"]


def test_a_search_reads_no_version(vic, prompt):
    with CaptureQueriesContext(connection) as captured:
        assert find_prompts(vic, q="classif").count() == 1
    assert "prompts_version" not in captured.captured_queries[-1]["sql"]


def test_the_document_holds_every_part_once_and_nothing_else(prompt):
    assert prompt.search_text == (
        "ticket classifier ticket classifier triage sorts tickets classify ticket text for product"
    )


def test_lists_never_load_the_document(vic, prompt):
    listed = find_prompts(vic).get()
    assert "search_text" in listed.get_deferred_fields()


def test_an_import_writes_the_document(people, staff, prompt, chat):
    files = export_team(people["alice"], people["support"])
    import_tree(staff, files, team="support", into="copy")
    copies = Prompt.objects.filter(team__slug="copy").select_related("latest_version")
    assert len(copies) == 2
    for copy in copies:
        assert copy.search_text == search_document(copy, copy.latest_version) != ""


def test_the_migration_fills_the_document_of_existing_prompts(prompt, chat):
    Prompt.objects.update(search_text="")
    fill.fill_search_text(apps, connection.schema_editor())
    for stored in Prompt.objects.select_related("latest_version"):
        assert stored.search_text == search_document(stored, stored.latest_version) != ""


def test_search_is_served_by_the_right_means_on_each_database(vic, prompt, chat):
    """PostgreSQL: the GIN index exists and the plan of a search reads it. SQLite: no
    such index, and the search is a match on the document of prompts alone."""
    searched = find_prompts(vic, q="classif ticket")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'prompts_prompt' "
                "AND indexname = %s",
                [SEARCH_INDEX],
            )
            (definition,) = cursor.fetchone()
        assert "USING gin" in definition and "to_tsvector('simple'" in definition
        with transaction.atomic(), connection.cursor() as cursor:
            # A tiny table is cheaper to scan; ask for the plan a large one gets. On a
            # tiny table the planner also prefers the team index for a one-team user,
            # so the plan asked for is that of the match over every prompt (what a
            # member of many teams gets; bench/scale.py prints it at 100,000 prompts).
            cursor.execute("SET LOCAL enable_seqscan = off")
            everything = _matching(Prompt.objects.order_by(), words_of("classif ticket"))
            plan = everything.explain()
        assert f"Bitmap Index Scan on {SEARCH_INDEX}" in plan, plan
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            assert SEARCH_INDEX not in {name for (name,) in cursor.fetchall()}
        sql = str(searched.only("pk").select_related(None).query)
        assert 'prompts_prompt"."search_text" LIKE' in sql
        assert "prompts_version" not in sql.split("WHERE", 1)[1]
    assert [p.slug for p in searched] == ["ticket-classifier"]
