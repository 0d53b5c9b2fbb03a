"""The claims the test provider hands out: the standard ones from the user, and ``groups`` (scope "groups").

A user in the group ``email-unverified`` has ``email_verified`` false (that group is not listed in ``groups``).
"""

from oidc_provider.lib.claims import ScopeClaims

UNVERIFIED = "email-unverified"


def userinfo(claims, user):
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["name"] = user.get_full_name()
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["email_verified"] = not user.groups.filter(name=UNVERIFIED).exists()
    return claims


class GroupsScopeClaims(ScopeClaims):
    info_groups = ("Groups", "The groups you are a member of.")

    def scope_groups(self):
        return {"groups": sorted(group.name for group in self.user.groups.exclude(name=UNVERIFIED))}
