"""The server secret: one key from which every other key (fingerprints, sessions) derives.

It lives in ``WENXING_SECRET`` or in a key file beside the database, never in the database
itself, so that a database dump alone cannot forge or strip fingerprints. The database keeps
a check value (an HMAC of a fixed label) so that starting with another secret fails loudly:
a wrong secret would otherwise silently make every issued fingerprint unreadable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from wenxing.config import Settings
from wenxing.db.meta import ServerMeta

CHECK_KEY = "secret_check"
_CHECK_LABEL = b"wenxing:secret-check:v1"
MIN_SECRET_CHARS = 32


class SecretError(RuntimeError):
    """The server secret is missing, malformed or not the one this database was made with."""


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (e.g. ``fingerprint``), independent of all others."""
    return hmac.new(secret, b"wenxing:key:" + purpose.encode(), hashlib.sha256).digest()


def check_value(secret: bytes) -> str:
    return hmac.new(secret, _CHECK_LABEL, hashlib.sha256).hexdigest()


def read_secret(settings: Settings) -> bytes | None:
    """The configured secret, or None when neither the variable nor the key file exists."""
    if settings.secret:  # an empty WENXING_SECRET counts as unset
        if len(settings.secret) < MIN_SECRET_CHARS:
            raise SecretError(f"WENXING_SECRET must be at least {MIN_SECRET_CHARS} characters")
        return settings.secret.encode()
    path = settings.key_file()
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"cannot read the key file {path}: {exc}") from exc
    if len(text) < MIN_SECRET_CHARS:
        raise SecretError(f"key file {path} is damaged (too short)")
    return text.encode()


def create_key_file(path: Path) -> bytes:
    token = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    return token.encode()


def stored_check(session: Session) -> str | None:
    row = session.get(ServerMeta, CHECK_KEY)
    return row.value if row else None


def establish_secret(session: Session, settings: Settings) -> bytes:
    """On ``init``: use the configured secret, or create a key file for a new database.

    A database that already has a check value never gets a new secret: losing the secret
    must be noticed, not papered over.
    """
    secret = read_secret(settings)
    expected = stored_check(session)
    if expected is None:
        if secret is None:
            secret = create_key_file(settings.key_file())
        session.add(ServerMeta(key=CHECK_KEY, value=check_value(secret)))
        return secret
    return verify_secret(session, settings, secret)


def verify_secret(session: Session, settings: Settings, secret: bytes | None = None) -> bytes:
    if secret is None:
        secret = read_secret(settings)
    expected = stored_check(session)
    if expected is None:
        raise SecretError("database has no secret check value; run `wenxing init` first")
    if secret is None:
        raise SecretError(
            f"the server secret is missing: set WENXING_SECRET or restore the key file "
            f"{settings.key_file()} (this database was initialised with a secret)"
        )
    if not hmac.compare_digest(check_value(secret), expected):
        raise SecretError(
            "the server secret does not match this database: restore the original "
            "WENXING_SECRET or key file (fingerprints made with the old secret would be unreadable)"
        )
    return secret
