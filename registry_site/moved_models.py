"""For migrations of models that moved from one app to another on their own tables.

Kept stable on purpose: migrations import it, and a migration must keep meaning what it
meant when it was written."""

from django.db import migrations


def content_types_follow(old_app: str, new_app: str, models: list[str]) -> migrations.RunPython:
    """Content types (and with them permissions and admin log entries) move with their
    models; going back, they return."""

    def forwards(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        for model in models:
            if not ContentType.objects.filter(app_label=new_app, model=model).exists():
                ContentType.objects.filter(app_label=old_app, model=model).update(app_label=new_app)

    def backwards(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        ContentType.objects.filter(app_label=new_app, model__in=models).update(app_label=old_app)

    return migrations.RunPython(forwards, backwards)
