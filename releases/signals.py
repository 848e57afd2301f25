"""What releases does when the apps below it announce a change."""

from typing import Any

from django.dispatch import receiver

from accounts.services import team_created
from prompts.signals import deploy_requested
from releases import environments, services


@receiver(team_created)
def give_team_environments(sender: Any, actor: Any, team: Any, **kwargs: Any) -> None:
    environments.create_default_environments(actor, team)


@receiver(deploy_requested)
def deploy_new_version(sender: Any, actor, prompt, version, environment: str, force: bool, **kw):
    """``deploy_to`` of a new version: deployed in the transaction that wrote it."""
    target = environments.find_environment(prompt.team, environment)
    services.deploy(actor, prompt, target, version, force=force)
    return True
