"""A database trigger refuses any UPDATE of a version row, whoever issues it."""

from django.db import migrations

SQLITE_UP = """
CREATE TRIGGER prompts_version_immutable BEFORE UPDATE ON prompts_version
BEGIN
    SELECT RAISE(ABORT, 'prompt versions are immutable');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS prompts_version_immutable;"

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION prompts_version_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'prompt versions are immutable' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER prompts_version_immutable BEFORE UPDATE ON prompts_version
    FOR EACH ROW EXECUTE FUNCTION prompts_version_refuse_update();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS prompts_version_immutable ON prompts_version;
DROP FUNCTION IF EXISTS prompts_version_refuse_update();
"""


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    else:
        raise RuntimeError(f"no immutability trigger for {vendor}")


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(SQLITE_DOWN if vendor == "sqlite" else POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("prompts", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
