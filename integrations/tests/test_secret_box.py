"""Secret box: secrets encrypted with the first key, readable with any, rotatable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from integrations import secret_box
from integrations.secret_box import UnreadableSecret, decrypt, encrypt, rotate

SECRET = "example-api-key-not-real"


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def old_key(settings):
    key = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [key]
    return key


def test_a_secret_reads_back_and_is_not_stored_in_clear(old_key):
    token = encrypt(SECRET)

    assert SECRET not in token
    assert decrypt(token) == SECRET
    assert encrypt(SECRET) != token


def test_rotation_keeps_secrets_readable_and_uses_the_new_key(settings, old_key):
    token = encrypt(SECRET)
    key = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [key, old_key]

    rotated = rotate(token)

    assert decrypt(token) == SECRET
    assert decrypt(rotated) == SECRET
    assert Fernet(key).decrypt(rotated.encode()).decode() == SECRET
    settings.FIELD_ENCRYPTION_KEYS = [key]
    assert decrypt(rotated) == SECRET


def test_decrypt_with_only_the_old_key_after_rotation_fails(settings, old_key):
    key = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [key, old_key]
    rotated = rotate(encrypt(SECRET))
    settings.FIELD_ENCRYPTION_KEYS = [old_key]

    with pytest.raises(UnreadableSecret):
        decrypt(rotated)


def test_new_secrets_use_the_first_key(settings, old_key):
    key = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [key, old_key]

    token = encrypt(SECRET)

    assert Fernet(key).decrypt(token.encode()).decode() == SECRET


def test_changed_settings_take_effect_at_once(settings, old_key):
    token = encrypt(SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(UnreadableSecret):
        decrypt(token)


@pytest.mark.parametrize("token", ["", "not a token", "gAAAAA", "é"])
def test_garbage_is_unreadable(old_key, token):
    with pytest.raises(UnreadableSecret):
        decrypt(token)
    with pytest.raises(UnreadableSecret):
        rotate(token)


def test_load_keys_returns_one_fernet_per_key(settings, old_key):
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), old_key]

    keys = secret_box.load_keys()

    assert len(keys) == 2
    assert all(isinstance(key, Fernet) for key in keys)


def test_a_comma_separated_string_of_keys_is_accepted(settings):
    first, second = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = f"{first}, {second}"

    token = encrypt(SECRET)

    assert len(secret_box.load_keys()) == 2
    assert Fernet(first).decrypt(token.encode()).decode() == SECRET


@pytest.mark.parametrize(
    "bad_key",
    [
        "not-a-fernet-key-but-secret-looking",
        "A" * 43,
        Fernet.generate_key().decode()[:-2] + "!!",
    ],
)
def test_a_malformed_key_raises_improperly_configured_without_echoing_it(
    settings, bad_key
):
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), bad_key]

    with pytest.raises(ImproperlyConfigured) as raised:
        secret_box.load_keys()
    with pytest.raises(ImproperlyConfigured):
        encrypt(SECRET)

    message = str(raised.value)
    assert "entry 2" in message
    assert bad_key not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize("value", [[], "", (), None, [None], [42]])
def test_missing_or_empty_keys_raise_improperly_configured(settings, value):
    settings.FIELD_ENCRYPTION_KEYS = value

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        encrypt(SECRET)


def test_an_unset_setting_raises_improperly_configured(settings):
    if hasattr(settings, "FIELD_ENCRYPTION_KEYS"):
        del settings.FIELD_ENCRYPTION_KEYS

    with pytest.raises(ImproperlyConfigured, match="at least one Fernet key"):
        secret_box.load_keys()
