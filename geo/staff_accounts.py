"""Staff accounts that sign in through the single sign-on provider: which account, and for which departments.

reports.staff.sso speaks OpenID Connect and hands the verified claims here. The account is the one linked to the
provider's ``sub`` (geo.StaffIdentity), else the one account with the provider's verified e-mail address (then
linked), else a new account without a password. With ``OIDC_MEMBERSHIPS_FROM_CLAIMS`` its memberships are made to
match ``OIDC_MEMBERSHIP_MAP`` for its groups at every sign-in; without, they are kept in the admin.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from geo.models import Department, Membership, StaffIdentity, StaffRole

logger = logging.getLogger(__name__)

# A group in several mapped entries for one department gets the strongest of their roles there.
_ROLE_RANK: dict[str, int] = {StaffRole.WORKER: 1, StaffRole.LEAD: 2, StaffRole.AUTHORITY_ADMIN: 3}


@dataclass(frozen=True)
class SignIn:
    """What the provider says about the person, already verified (signature, issuer, audience, nonce)."""

    issuer: str
    subject: str
    email: str = ""
    email_verified: bool = False
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    groups: list[str] = field(default_factory=list)


def mapped_memberships(groups: Iterable[str]) -> dict[int, str]:
    """Department id → role for the groups, by ``OIDC_MEMBERSHIP_MAP`` (unknown departments are skipped, logged)."""
    wanted: dict[int, str] = {}
    for group in groups:
        for entry in settings.OIDC_MEMBERSHIP_MAP.get(group, []):
            reference, role = entry["department"], entry["role"]
            lookup = {"pk": reference} if isinstance(reference, int) or reference.isdigit() else {"slug": reference}
            department_id = Department.objects.filter(**lookup).values_list("pk", flat=True).first()
            if department_id is None or role not in _ROLE_RANK:
                logger.error("OIDC_MEMBERSHIP_MAP: group %r names an unknown department %r or role %r",
                             group, reference, role)
                continue
            if _ROLE_RANK[role] > _ROLE_RANK.get(wanted.get(department_id, ""), 0):
                wanted[department_id] = role
    return wanted


def _account_for(sign_in: SignIn) -> User | None:
    """The account linked to the subject, else the single one with the verified address (None: a new one)."""
    User = get_user_model()
    identity = StaffIdentity.objects.select_related("user").filter(
        issuer=sign_in.issuer, subject=sign_in.subject
    ).first()
    if identity is not None:
        return identity.user
    if not (sign_in.email and sign_in.email_verified):
        return None
    # An address is someone's only while the provider vouches for it, and an account already linked to another
    # subject of this provider is that person's. A superuser (the way in when the provider is down) is never taken
    # over by an address: an account made by a sign-in can be made superuser in the admin instead.
    candidates = list(
        User.objects.filter(email__iexact=sign_in.email, is_superuser=False)
        .exclude(sso_identities__issuer=sign_in.issuer)[:2]
    )
    if len(candidates) != 1:
        if candidates:
            logger.warning("OIDC sign-in: several accounts have the provider's e-mail address; none is linked")
        return None
    return candidates[0]


def _free_username(wanted: str, subject: str) -> str:
    User = get_user_model()
    base = (wanted or "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:12])[:140]
    name, number = base, 1
    while User.objects.filter(username__iexact=name).exists():
        number += 1
        name = f"{base}-{number}"
    return name


def staff_account_sign_in(sign_in: SignIn) -> tuple[User | None, bool]:
    """The account for this sign-in (found, linked or created) and whether it may use the staff pages.

    One transaction: account, link and memberships change together. With memberships from claims, a person
    whose groups map to no department gets no account (and an existing one loses its memberships).
    """
    from_claims = settings.OIDC_MEMBERSHIPS_FROM_CLAIMS
    wanted = mapped_memberships(sign_in.groups) if from_claims else {}
    with transaction.atomic():
        user = _account_for(sign_in)
        if user is None:
            if from_claims and not wanted:
                return None, False
            user = get_user_model().objects.create_user(_free_username(sign_in.username, sign_in.subject))
            user.set_unusable_password()
        identity, _created = StaffIdentity.objects.get_or_create(
            issuer=sign_in.issuer, subject=sign_in.subject, defaults={"user": user}
        )
        user = identity.user  # a sign-in of the same person at the same moment may have linked it first
        user.email = sign_in.email or user.email
        user.first_name = sign_in.first_name[:150] or user.first_name
        user.last_name = sign_in.last_name[:150] or user.last_name
        user.save()
        if from_claims:
            _sync_memberships(user, wanted)
        allowed = user.is_superuser or Membership.objects.filter(user=user).exists()
    return user, allowed


def _sync_memberships(user: User, wanted: dict[int, str]) -> None:
    current = {m.department_id: m for m in Membership.objects.filter(user=user)}
    Membership.objects.filter(user=user).exclude(department_id__in=wanted).delete()
    for department_id, role in wanted.items():
        membership = current.get(department_id)
        if membership is None:
            Membership.objects.create(user=user, department_id=department_id, role=role)
        elif membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
