"""Encryption of integration secrets with the keys in settings.FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a new key goes first and the old ones
stay listed until every stored secret has been rotated onto the new one.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class UnreadableSecret(InvalidToken):
    """A token that none of the configured keys can decrypt, or that is no token."""


@sensitive_variables()
def encrypt(value: str) -> str:
    return _box().encrypt(value.encode()).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, TypeError):
        raise UnreadableSecret(
            "the secret cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was it encrypted with a key that is no longer listed?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt token with the first key, keeping its original timestamp."""
    try:
        return _box().rotate(token.encode()).decode("ascii")
    except (InvalidToken, ValueError, TypeError):
        raise UnreadableSecret(
            "the secret cannot be rotated: no key in FIELD_ENCRYPTION_KEYS reads it"
        ) from None


def load_keys() -> list[Fernet]:
    """Return one Fernet per key in settings, the encrypting one first."""
    return [_fernet(key, number) for number, key in enumerate(_setting(), start=1)]


def _box() -> MultiFernet:
    # Keyed on the keys themselves, so changed settings (a test, a reload) take effect.
    return _multi_fernet(_setting())


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str | bytes, ...]) -> MultiFernet:
    return MultiFernet([_fernet(key, n) for n, key in enumerate(keys, start=1)])


def _setting() -> tuple[str | bytes, ...]:
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None)
    if isinstance(keys, str | bytes):
        # Tolerate the raw comma-separated form of the environment variable.
        separator = "," if isinstance(keys, str) else b","
        keys = [key.strip() for key in keys.split(separator) if key.strip()]
    if not isinstance(keys, list | tuple) or not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must list at least one Fernet key; make one with "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    for number, key in enumerate(keys, start=1):
        if not isinstance(key, str | bytes):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {number} must be a string, "
                f"not {type(key).__name__}"
            )
    return tuple(keys)


def _fernet(key: str | bytes, number: int) -> Fernet:
    # The key never goes into the message: error pages and logs would show it.
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS entry {number} is not a Fernet key "
            "(32 bytes in URL-safe base64, 44 characters)"
        ) from None
