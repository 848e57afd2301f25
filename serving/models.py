"""How often each caller fetched each version: who depends on a prompt.

The table keeps the name it had when the model lived in ``prompts``."""

from django.conf import settings
from django.db import models

from prompts.models import Prompt, Version


class Usage(models.Model):
    """How often a caller fetched a version, per day: who depends on a prompt."""
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("prompt__team_id", "prompt_id")

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="usage")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=10)  # resolve or render
    caller = models.CharField(max_length=40)  # "token:<id>" or "user:<id>"
    token = models.ForeignKey(
        "accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    day = models.DateField()
    count = models.PositiveBigIntegerField(default=0)
    last_seen = models.DateTimeField()

    class Meta:
        db_table = "prompts_usage"
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "version", "environment", "kind", "caller", "day"],
                name="usage_unique_bucket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.kind} {self.prompt_id} v{self.version_id}: {self.count}"
