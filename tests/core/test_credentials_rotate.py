"""Key rotation: values written with key A, keys switched to [B, A], rotate, then B alone reads everything."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from channels.models import Store
from channels.services import store_create
from channels.tokens import store_credentials
from core.crypto import decrypt_json, encrypt_json, encrypted_columns
from logistics.models import CarrierAccount
from logistics.services import carrier_account_credentials, carrier_account_save

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
STORE_CREDENTIALS = {"client_id": "id", "client_secret": "secret", "access_token": "tok", "refresh_token": "refresh"}


def _run(*arguments: str) -> str:
    out = io.StringIO()
    call_command("credentials_rotate", *arguments, stdout=out)
    return out.getvalue()


def test_every_encrypted_column_is_found():
    assert sorted(column.label for column in encrypted_columns()) == [
        "channels.Store.access_token_encrypted",
        "channels.Store.credentials_encrypted",
        "core.TwoFactorDevice.secret_encrypted",  # staff's TOTP secrets
        "logistics.CarrierAccount.credentials_encrypted",
    ]


@pytest.mark.django_db
def test_rotate_moves_every_value_to_the_newest_key():
    with override_settings(CREDENTIALS_KEYS=[KEY_A]):
        stores = [
            store_create(channel="wish", name=f"Wish {number}", credentials=STORE_CREDENTIALS) for number in range(3)
        ]
        Store.objects.filter(pk=stores[0].pk).update(access_token_encrypted=encrypt_json("access-0"))
        store_create(channel="manual", name="Sheets", credentials=None)  # nothing stored: nothing to rotate
        account = carrier_account_save(
            data={"carrier": "easypost", "name": "EasyPost"}, credentials={"api_key": "EZ-secret"}
        )
    before = dict(Store.objects.values_list("pk", "credentials_encrypted"))

    with override_settings(CREDENTIALS_KEYS=[KEY_B, KEY_A]):
        with pytest.raises(CommandError, match="5 values are not on the newest key yet"):
            _run("--check")
        output = _run("--batch-size", "2").splitlines()
        assert sorted(output[:-1]) == [
            "channels.Store.access_token_encrypted: 1 values, 1 re-encrypted with the newest key",
            "channels.Store.credentials_encrypted: 3 values, 3 re-encrypted with the newest key",
            "core.TwoFactorDevice.secret_encrypted: 0 values, 0 re-encrypted with the newest key",
            "logistics.CarrierAccount.credentials_encrypted: 1 values, 1 re-encrypted with the newest key",
        ]
        assert output[-1] == "5 values re-encrypted."
        assert _run("--check").splitlines()[-1] == "0 values not on the newest key."
        assert "0 values re-encrypted." in _run()  # again: nothing left to do

    after = dict(Store.objects.values_list("pk", "credentials_encrypted"))
    assert all(after[pk] != before[pk] for pk in before if before[pk])
    with override_settings(CREDENTIALS_KEYS=[KEY_B]):
        for store in Store.objects.filter(pk__in=[store.pk for store in stores]):
            assert store_credentials(store) == STORE_CREDENTIALS
        assert decrypt_json(Store.objects.get(pk=stores[0].pk).access_token_encrypted) == "access-0"
        assert carrier_account_credentials(CarrierAccount.objects.get(pk=account.pk)) == {"api_key": "EZ-secret"}


@pytest.mark.django_db
def test_a_value_no_key_opens_is_reported_and_left_alone():
    with override_settings(CREDENTIALS_KEYS=[KEY_A]):
        store = store_create(channel="wish", name="Wish", credentials=STORE_CREDENTIALS)
    stored = Store.objects.get(pk=store.pk).credentials_encrypted
    with (
        override_settings(CREDENTIALS_KEYS=[KEY_B]),
        pytest.raises(CommandError, match="1 values are readable with none of CREDENTIALS_KEYS"),
    ):
        _run()
    assert Store.objects.get(pk=store.pk).credentials_encrypted == stored
