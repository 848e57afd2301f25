"""References: which prompts a version includes, and how, written with the version.

A row per distinct include written in a version's text (``{% include "team/slug" %}``,
``"team/slug@3"``, ``"team/slug@production"``). Versions never change, so neither do
their references: the dependents of a prompt are the references that target it.
"""

from django.db import models

from prompts.models import Prompt, Version


class Reference(models.Model):
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("version__prompt__team_id", "version__prompt_id")

    class Mode(models.TextChoices):
        FOLLOW = "follow", "Follows the environment being resolved"
        VERSION = "version", "Pins a version"
        ENVIRONMENT = "environment", "Follows a named environment"

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="references")
    target = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="included_by")
    # The text between the quotes, as written: "team/slug", "team/slug@3", "team/slug@env".
    written = models.CharField(max_length=200)
    # Set for "@N": that exact version of the target.
    pinned = models.ForeignKey(
        Version, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    # Set for "@env": the slug of an environment of the target's team.
    environment = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "written"], name="reference_once"),
        ]
        indexes = [models.Index(fields=["target", "version"], name="reference_by_target")]

    def __str__(self) -> str:
        return f"{self.version_id} includes {self.written}"

    @property
    def mode(self) -> str:
        if self.pinned_id is not None:
            return self.Mode.VERSION
        return self.Mode.ENVIRONMENT if self.environment else self.Mode.FOLLOW
