"""Credentials at rest: encrypted with the newest of CREDENTIALS_KEYS, readable with any of them."""

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from core.crypto import decrypt_json, encrypt_json
from core.errors import DomainError

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_secret_survives_the_round_trip_and_is_not_stored_in_clear():
    with override_settings(CREDENTIALS_KEYS=[NEW]):
        token = encrypt_json({"refresh_token": "Atzr|secret", "seller_id": "A1"})
        assert "secret" not in token
        assert decrypt_json(token) == {"refresh_token": "Atzr|secret", "seller_id": "A1"}


def test_keys_rotate_newest_first_and_an_unknown_key_is_a_clear_error():
    with override_settings(CREDENTIALS_KEYS=[OLD]):
        token = encrypt_json({"api_key": "k"})
    with override_settings(CREDENTIALS_KEYS=[NEW, OLD]):
        assert decrypt_json(token) == {"api_key": "k"}
    with override_settings(CREDENTIALS_KEYS=[NEW]), pytest.raises(DomainError) as caught:
        decrypt_json(token)
    assert caught.value.code == "credentials_key"
