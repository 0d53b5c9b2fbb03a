"""The secret key of a DEBUG installation without ``SECRET_KEY``: generated once per data directory.

A fixed development key let anyone sign reopen links, sessions and password-reset tokens for every
``make run`` demo. Now each data directory gets a random key on first start, kept in
``$DATA_DIR/secret-key`` (mode 600) and read on every later start, so sessions and links stay valid.
The settings read it (not only scripts/run.sh), so the server, the worker and every manage.py command
run with the same DATA_DIR agree on the key.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FILE_NAME = "secret-key"


def data_dir_secret_key(data_dir: Path) -> str:
    path = data_dir / FILE_NAME
    try:
        if not path.exists():
            _create(path)
        key = path.read_text().strip()
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)  # a copied or restored file: nobody else may read the key
    except OSError as exc:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and the generated key in {path} cannot be created or read ({exc.strerror}). "
            "Make DATA_DIR writable, or set SECRET_KEY (or SECRET_KEY_FILE)."
        ) from None
    if len(key) < 32:
        raise ImproperlyConfigured(
            f"{path} holds no usable secret key; delete it to generate a new one, or set SECRET_KEY."
        )
    return key


def _create(path: Path) -> None:
    """Writes a new key unless another process (the worker, a manage.py command) just did: the key is
    written to a file of its own, then linked into place, which fails if the name exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won; everyone reads its key
    finally:
        draft.unlink()
