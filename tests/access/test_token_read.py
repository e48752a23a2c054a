"""The token of every API request is read by hand-written SQL (access.authentication.token_read, core.db_rows):
the same instances a queryset with select_related makes, and the user's permissions named from a table the process
keeps (core.permissions), read again when a permission is new."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from access.authentication import token_read
from access.keys import key_prefix
from access.models import ApiToken
from access.services import partner_create, token_create
from core.permissions import permission_names_of

pytestmark = pytest.mark.django_db


def fields_of(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def read_both_ways(key: str) -> tuple[ApiToken, ApiToken]:
    prefix = key_prefix(key)
    return token_read(prefix), ApiToken.objects.select_related("user", "partner").get(prefix=prefix)


def test_a_users_token_is_read_as_a_queryset_reads_it(make_user, django_assert_num_queries):
    user = make_user("Warehouse manager")
    user.last_login = timezone.now() - timedelta(days=2)
    user.save()
    token, key = token_create(user=user, name="sync", scopes=["orders:read", "inventory:read"], all_stores=True)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=30))

    with django_assert_num_queries(1):
        token_read(key_prefix(key))
    read, expected = read_both_ways(key)

    assert fields_of(read) == fields_of(expected)
    assert fields_of(read.user) == fields_of(expected.user)
    assert read.partner is None and read.partner_id is None
    assert read.scopes == ["orders:read", "inventory:read"] and read.expires_at.tzinfo is not None
    assert not read._state.adding and read._state.db == "default"
    assert permission_names_of(read.user_permission_ids) == user.get_all_permissions()


def test_a_partners_token_is_read_with_its_partner(django_assert_num_queries):
    partner = partner_create(name="Acme 3PL")
    _token, key = token_create(user=partner.user, name="3pl", scopes=["*"], all_warehouses=True)

    read, expected = read_both_ways(key)

    assert fields_of(read.partner) == fields_of(expected.partner)
    assert fields_of(read) == fields_of(expected) and fields_of(read.user) == fields_of(expected.user)
    with django_assert_num_queries(0):  # both came with the token
        assert (read.partner.name, read.user.pk) == ("Acme 3PL", partner.user.pk)


def test_an_unknown_prefix_reads_nothing():
    assert token_read("zzzzzzzz") is None


def test_a_permission_made_after_the_table_was_read_is_named_after_one_more_query(make_user, django_assert_num_queries):
    user = make_user()
    content_type = ContentType.objects.get_for_model(get_user_model())
    made = Permission.objects.create(codename="audit_everything", name="Audit everything", content_type=content_type)
    user.user_permissions.add(made)
    _token, key = token_create(user=user, name="t", scopes=["*"], all_stores=True)
    ids = token_read(key_prefix(key)).user_permission_ids
    assert ids == [made.pk]

    with django_assert_num_queries(1):  # the table of names, read again: it did not know the id
        assert permission_names_of(ids) == {"auth.audit_everything"}
    with django_assert_num_queries(0):
        assert permission_names_of(ids) == {"auth.audit_everything"}
