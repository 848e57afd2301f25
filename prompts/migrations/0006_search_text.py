"""Search reads one document per prompt; on PostgreSQL a GIN index serves it.

The index is an expression index over the same ``to_tsvector('simple', …)`` that
prompts.search queries with. It exists on PostgreSQL only, so it is made here rather
than in ``Meta.indexes``, which cannot name a database.
"""

from django.db import migrations, models

from prompts.search import SEARCH_INDEX, search_document, search_vector

BATCH = 500


def fill_search_text(apps, schema_editor):
    Prompt = apps.get_model("prompts", "Prompt")
    prompts = Prompt.objects.using(schema_editor.connection.alias)
    last = 0
    while True:
        batch = list(
            prompts.filter(pk__gt=last).select_related("latest_version").order_by("pk")[:BATCH]
        )
        if not batch:
            return
        for prompt in batch:
            prompt.search_text = search_document(prompt, prompt.latest_version)
        prompts.bulk_update(batch, ["search_text"])
        last = batch[-1].pk


def _index(apps):
    from django.contrib.postgres.indexes import GinIndex

    return apps.get_model("prompts", "Prompt"), GinIndex(search_vector(), name=SEARCH_INDEX)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(*_index(apps))


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(*_index(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("prompts", "0005_review_requests"),
    ]

    operations = [
        migrations.AddField(
            model_name="prompt",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]
