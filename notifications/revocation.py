"""Staff sockets lose what their account loses: a revoked token, a logout, a deactivated account, a membership.

Every staff socket also joins ``staff.user.<id>``. When something that authorises it changes (a token is
deleted, the user logs out, is deactivated, deleted or gets a new password, a membership is added, changed
or removed), the receivers below send that group a ``staff.recheck`` message after commit; the consumer then
checks its credentials again and closes if they no longer hold (notifications.consumers.StaffConsumer).

A message can miss its socket (an in-memory channel layer does not cross processes, a bulk ``update()``
sends no signal, Redis may drop a message), so the consumer also re-checks before forwarding an event when
its last check is older than STAFF_RECHECK_S: the signal makes revocation immediate, the re-check bounds it.
"""

from __future__ import annotations

import logging
from functools import partial
from importlib import import_module
from types import SimpleNamespace
from typing import Literal, NamedTuple

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authtoken.models import Token

from geo.models import Membership
from reports.permissions import staff_department_ids, token_user

logger = logging.getLogger(__name__)

RECHECK = "staff.recheck"


class Credential(NamedTuple):
    """How a staff socket authenticated: by a DRF token (its key) or by a session (its key)."""

    kind: Literal["token", "session"]
    key: str | None  # a session may have none yet


def staff_user_group(user_id: int) -> str:
    return f"staff.user.{user_id}"


def credential_user(credential: Credential):
    """The active account the credential still belongs to, or None."""
    if credential.kind == "token":
        return token_user(credential.key or "")
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=credential.key)
    # Django's own check (the backend's is_active rule, the password hash kept in the session), as on
    # every HTTP request made with that session.
    user = auth.get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]  # it reads only .session
    return user if user.is_authenticated else None


def current_departments(credential: Credential, user_id: int) -> list[int] | None:
    """The departments the socket may follow now; None when the credential itself no longer holds."""
    user = credential_user(credential)
    if user is None or user.pk != user_id:
        return None
    return staff_department_ids(user)


def send_recheck(user_id: int, ended_session: str | None = None) -> None:
    """Ask the user's open staff sockets to check their credentials again (best effort, see module doc)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": RECHECK, "ended_session": ended_session}
    try:
        async_to_sync(layer.group_send)(staff_user_group(user_id), message)
    except Exception:  # noqa: BLE001 (a layer outage must not fail the logout or revocation that was committed)
        logger.warning("could not ask the staff sockets of user %s to re-check; they will on their next event",
                       user_id, exc_info=True)


def recheck_after_commit(user_id: int | None, ended_session: str | None = None) -> None:
    if user_id is not None:
        # After commit: the sockets must read the new state, and a rolled-back change revokes nothing.
        transaction.on_commit(partial(send_recheck, user_id, ended_session))


def token_deleted(sender, instance: Token, **kwargs) -> None:
    recheck_after_commit(instance.user_id)


def user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # A login only writes last_login; a deactivation or a new password writes the whole row or names them.
    if not created and (update_fields is None or {"is_active", "password"} & set(update_fields)):
        recheck_after_commit(instance.pk)


def user_deleted(sender, instance, **kwargs) -> None:
    recheck_after_commit(instance.pk)


def membership_changed(sender, instance: Membership, **kwargs) -> None:
    recheck_after_commit(instance.user_id)


def logged_out(sender, request, user, **kwargs) -> None:
    # Sent before the session is flushed: name the ending session, the sockets must not look it up yet.
    session = getattr(request, "session", None)
    recheck_after_commit(getattr(user, "pk", None), getattr(session, "session_key", None))


def connect_receivers() -> None:
    """Called from the app config's ready()."""
    user_model = auth.get_user_model()
    post_delete.connect(token_deleted, sender=Token, dispatch_uid="notifications.revocation.token")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="notifications.revocation.user_saved")
    post_delete.connect(user_deleted, sender=user_model, dispatch_uid="notifications.revocation.user_deleted")
    post_save.connect(membership_changed, sender=Membership, dispatch_uid="notifications.revocation.membership_saved")
    post_delete.connect(
        membership_changed, sender=Membership, dispatch_uid="notifications.revocation.membership_deleted"
    )
    user_logged_out.connect(logged_out, dispatch_uid="notifications.revocation.logged_out")
