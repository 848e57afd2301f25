"""Where an imported version came from: the author and time its files gave.

On SQLite, adding a NOT NULL column rebuilds the table, and the rebuild drops the
trigger of 0002 that refuses any UPDATE of a version row: it is created again after
the columns are added (and after they are removed, going back). PostgreSQL adds a
column in place and keeps its triggers.
"""

from django.db import migrations, models

SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS prompts_version_immutable BEFORE UPDATE ON prompts_version
BEGIN
    SELECT RAISE(ABORT, 'prompt versions are immutable');
END;
"""


def keep_versions_immutable(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("prompts", "0008_models_move_to_their_apps")]

    operations = [
        # Going back, the columns are dropped (a rebuild on SQLite) and then this runs.
        migrations.RunPython(migrations.RunPython.noop, keep_versions_immutable),
        migrations.AddField(
            model_name="version",
            name="imported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="version",
            name="imported_author",
            field=models.CharField(blank=True, default="", max_length=150),
        ),
        migrations.RunPython(keep_versions_immutable, migrations.RunPython.noop),
    ]
