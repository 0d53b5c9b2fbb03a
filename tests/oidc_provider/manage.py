#!/usr/bin/env python
"""A small OpenID Connect provider (django-oidc-provider) for the single sign-on tests, a Django project of its own.

tests/backend/test_oidc_login.py runs it in its own process, as a municipality runs Keycloak or AD FS:
``OP_DATABASE=/tmp/…/op.sqlite3 OP_SITE_URL=http://127.0.0.1:PORT python manage.py runserver 127.0.0.1:PORT``.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "op.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
