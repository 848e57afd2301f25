from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "prompts"
    verbose_name = "Prompts"

    def ready(self) -> None:
        from accounts.permissions import register_grants
        from prompts.models import Prompt, PromptGroupObjectPermission, PromptUserObjectPermission

        # Rights can be granted on a single prompt; accounts learns here where they live.
        register_grants(Prompt, PromptUserObjectPermission, PromptGroupObjectPermission)
