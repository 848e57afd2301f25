"""Keep cached credentials and rights in step with changes to user accounts."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts import tokens
from accounts.permissions import forget_grants_on_commit


@receiver(post_save, sender=get_user_model())
def forget_cached_access(sender, instance, created, **kwargs):
    """A deactivated, promoted or demoted user must not act on what was cached."""
    if not created:
        tokens.forget_user(instance)
        forget_grants_on_commit(instance)
