"""A version never changes: the model refuses, and so does the database."""

import pytest
from django.db import DatabaseError, connection, transaction

from prompts.models import Version
from registry_site.errors import Immutable


def test_save_of_an_existing_version_is_refused(prompt):
    version = Version.objects.get(prompt=prompt, number=1)
    version.template = "changed"
    with pytest.raises(Immutable):
        version.save()


def test_queryset_update_is_refused(prompt):
    with pytest.raises(Immutable):
        Version.objects.filter(prompt=prompt).update(template="changed")


def test_bulk_update_is_refused(prompt):
    version = Version.objects.get(prompt=prompt, number=1)
    version.template = "changed"
    with pytest.raises(Immutable):
        Version.objects.bulk_update([version], ["template"])


def test_delete_is_refused(prompt):
    with pytest.raises(Immutable):
        Version.objects.get(prompt=prompt, number=1).delete()


def test_a_raw_sql_update_is_refused_by_the_database(prompt):
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE prompts_version SET template = %s", ["changed"])
    assert Version.objects.get(prompt=prompt, number=1).template.startswith("Classify")


def test_an_update_of_any_single_column_is_refused_by_the_database(prompt):
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE prompts_version SET change_note = 'x' WHERE id = %s",
            [prompt.latest_version_id],
        )
