"""A request's user comes with their permissions in the same query (core/permissions.py): the same set Django's
ModelBackend reads with two queries of its own, for a session's user and for an API token's."""

from __future__ import annotations

import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from access.authentication import ApiTokenAuthentication
from access.services import token_create
from core.permissions import ModelBackend

pytestmark = pytest.mark.django_db


def django_permissions(user_id: int) -> set[str]:
    """What Django's own ModelBackend reads for the user, on a fresh instance."""
    return django_backends.ModelBackend().get_all_permissions(get_user_model().objects.get(pk=user_id))


@pytest.fixture
def picker_with_one_more(make_user):
    """A picker (the role's permissions, through a group) with one permission of their own besides."""
    user = make_user("Picker/packer")
    user.user_permissions.add(Permission.objects.get(codename="add_supplier"))
    return user


def test_a_sessions_user_is_read_with_the_same_permissions_in_one_query(
    picker_with_one_more, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(picker_with_one_more.pk)
        permissions = user.get_all_permissions()
        assert user.has_perm("purchasing.add_supplier")
        assert not user.has_perm("inventory.delete_product")

    assert permissions == django_permissions(user.pk)
    assert "purchasing.add_supplier" in permissions and len(permissions) > 5
    # Read by hand-written SQL (core.db_rows): the instance a queryset makes, field by field.
    stored = get_user_model().objects.get(pk=user.pk)
    assert [getattr(user, field.attname) for field in stored._meta.concrete_fields] == [
        getattr(stored, field.attname) for field in stored._meta.concrete_fields
    ]
    assert not user._state.adding and user._state.db == "default"


def test_a_tokens_user_is_read_with_the_same_permissions_in_one_query(picker_with_one_more, django_assert_num_queries):
    _token, key = token_create(user=picker_with_one_more, name="t", scopes=["*"], all_stores=True, all_warehouses=True)
    request = RequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(2):  # the token with its user and permissions; the once-a-minute last use
        user, _auth = ApiTokenAuthentication().authenticate(request)
        permissions = user.get_all_permissions()

    assert permissions == django_permissions(user.pk)


def test_an_inactive_or_unknown_user_has_no_session(make_user):
    user = make_user("Picker/packer")
    user.is_active = False
    user.save()

    assert ModelBackend().get_user(user.pk) is None
    assert ModelBackend().get_user(999_999) is None


def test_a_superuser_has_every_permission_as_django_gives_them(make_user):
    boss = make_user(superuser=True)

    user = ModelBackend().get_user(boss.pk)

    assert (
        user.get_all_permissions()
        == django_permissions(boss.pk)
        == {f"{app}.{code}" for app, code in Permission.objects.values_list("content_type__app_label", "codename")}
    )


def test_the_permission_check_builds_a_views_queryset_once_per_action_not_per_request(make_user):
    """ModelPermissions reads which model a view serves from its queryset once per view class and action (DRF
    builds the whole queryset on every request for it); the view's own reads still build theirs, and the
    permissions still apply on every request."""
    from rest_framework import viewsets
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory, force_authenticate

    from inventory.models import Product
    from purchasing.models import Supplier

    built: list[str] = []

    class Products(viewsets.GenericViewSet):
        def get_queryset(self):
            built.append(self.action)
            return Product.objects.all() if self.action == "list" else Supplier.objects.all()

        def list(self, request):
            return Response({"count": self.get_queryset().count()})

        def create(self, request):
            return Response({"made": True})

    view = Products.as_view({"get": "list", "post": "create"})
    factory = APIRequestFactory()
    picker, buyer = make_user("Picker/packer"), make_user("Purchaser")

    def answer(method: str, user) -> int:
        request = getattr(factory, method)("/products/")
        force_authenticate(request, user=user)
        return view(request).status_code

    assert answer("get", picker) == 200
    assert built == ["list", "list"]  # the check's and the list's own
    assert [answer("get", picker) for _ in range(3)] == [200, 200, 200]
    assert built == ["list"] * 5  # only the list's own from then on
    # Another action's model is its own (a supplier to create), looked up once too; and the roles still decide.
    assert answer("post", picker) == 403 and answer("post", buyer) == 200
    assert built[5:] == ["create"]
