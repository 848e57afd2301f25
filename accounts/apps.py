from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and access"

    def ready(self) -> None:
        from accounts import schema, signals  # noqa: F401 - registers receivers and schema

        signals.watch_object_permissions()
