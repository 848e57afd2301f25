from django.apps import AppConfig


class CompositionConfig(AppConfig):
    name = "composition"
    verbose_name = "Composition"

    def ready(self) -> None:
        # Prompts sits below and may not import us: it asks through its registries
        # (prompts.writing for what a version may hold, prompts.cache for whose answers
        # hold a part of a prompt).
        from composition import hooks

        hooks.register()
