"""Keep cached credentials and rights in step with changes to user accounts.

Rights are cached per user (accounts.permissions) and tokens per prefix
(accounts.tokens). Services drop those entries when they change something, but
rights also change from elsewhere: the admin's user and group pages, guardian's
object-permission pages, ``assign_perm`` and ``user.groups.add`` in a shell. So every
write to what the caches are computed from drops them here, whoever made it.
"""

from collections.abc import Iterable

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts import tokens
from accounts.models import ApiToken, rights_bulk_created
from accounts.permissions import forget_grants_of, forget_grants_on_commit

User = get_user_model()


@receiver(post_save, sender=User)
def forget_cached_access(sender, instance, created, **kwargs):
    """A deactivated, promoted or demoted user must not act on what was cached."""
    if not created:
        tokens.forget_user(instance)
        forget_grants_on_commit(instance)


@receiver(post_delete, sender=ApiToken)
def forget_deleted_token(sender, instance, **kwargs):
    """A token deleted with its user or team (or alone) stops answering at once."""
    tokens.forget_token(instance.prefix)


@receiver(post_delete, sender=User)
def forget_deleted_user(sender, instance, **kwargs):
    forget_grants_on_commit(instance)


# ---------------------------------------------------------------- groups


@receiver(m2m_changed, sender=User.groups.through)
def forget_rights_on_group_change(sender, instance, action, reverse, pk_set, **kwargs):
    """user.groups.add/remove/set/clear, or group.user_set.… from the other side."""
    if action not in ("post_add", "post_remove", "pre_clear", "post_clear"):
        return
    if not reverse:  # instance is a user
        if action != "pre_clear":
            forget_grants_of([instance.pk])
    elif action == "pre_clear":  # instance is a group about to lose everyone
        forget_grants_of(_members_of_groups([instance.pk]))
    elif pk_set:
        forget_grants_of(pk_set)


@receiver(pre_delete, sender=Group)
def forget_rights_of_deleted_group(sender, instance, **kwargs):
    # Read now: the group's memberships go with it, without a signal of their own.
    forget_grants_of(_members_of_groups([instance.pk]))


def _members_of_groups(group_ids: Iterable[int]) -> list[int]:
    return list(User.objects.filter(groups__in=list(group_ids)).values_list("pk", flat=True))


# ---------------------------------------------------------------- object permissions


def holders(rows: Iterable) -> set[int]:
    """The ids of the users whose rights these object-permission rows give."""
    users: set[int] = set()
    groups: set[int] = set()
    for row in rows:
        if isinstance(row, UserObjectPermissionBase):
            users.add(row.user_id)
        elif isinstance(row, GroupObjectPermissionBase):
            groups.add(row.group_id)
    if groups:
        users.update(_members_of_groups(groups))
    return users


def forget_rights_of_holder(sender, instance, **kwargs):
    """One object permission granted or taken (assign_perm, remove_perm, the admin)."""
    forget_grants_of(holders([instance]))


def watch_object_permissions() -> None:
    """Connect every model of guardian's object permissions, ours and guardian's own."""
    for model in apps.get_models():
        if issubclass(model, UserObjectPermissionBase | GroupObjectPermissionBase):
            post_save.connect(forget_rights_of_holder, sender=model, weak=False)
            post_delete.connect(forget_rights_of_holder, sender=model, weak=False)


@receiver(rights_bulk_created)
def forget_bulk_granted_rights(sender, rows, **kwargs):
    forget_grants_of(holders(rows))
