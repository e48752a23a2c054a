"""Users and roles in the admin read in the reader's language, while the groups' names stay the keys they are."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core.admin import permission_label
from core.roles import ROLE_LABELS, ROLES, role_label

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese_admin(make_user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    client.force_login(make_user(superuser=True, username="boss"))
    return client


def test_every_role_has_a_label_and_unknown_groups_show_their_name():
    assert set(ROLE_LABELS) == set(ROLES)
    with translation.override("zh-hans"):
        assert role_label("Picker/packer") == "拣货打包员"
        assert role_label("Warehouse manager") == "仓库主管"
        assert role_label("Night shift") == "Night shift"
    with translation.override("en"):
        assert role_label("Picker/packer") == "Picker/packer"


def test_user_list_shows_roles_in_chinese_and_filters_by_them(chinese_admin, make_user, roles):
    make_user("Picker/packer", username="ming")
    make_user("Purchaser", username="hua")

    response = chinese_admin.get(reverse("admin:auth_user_changelist"))
    page = response.content.decode()
    assert "拣货打包员" in page and "采购员" in page
    assert "Picker/packer" not in page

    picker = Group.objects.get(name="Picker/packer")
    filtered = chinese_admin.get(reverse("admin:auth_user_changelist"), {"groups__id__exact": picker.pk})
    assert [user.username for user in filtered.context["cl"].result_list] == ["ming"]


def test_group_list_and_form_read_in_chinese(chinese_admin, make_user, roles):
    make_user("Picker/packer")
    response = chinese_admin.get(reverse("admin:auth_group_changelist"))
    page = response.content.decode()
    for label in ("管理员", "仓库主管", "拣货打包员", "采购员", "客服", "API 合作方"):
        assert label in page
    rows = {group.name: group.member_count for group in response.context["cl"].result_list}
    assert rows["Picker/packer"] == 1 and rows["Purchaser"] == 0

    form_page = chinese_admin.get(reverse("admin:auth_group_change", args=[roles["Purchaser"].pk]))
    choices = dict(form_page.context["adminform"].form.fields["permissions"].choices)
    view_product = Permission.objects.get(codename="view_product", content_type__app_label="inventory")
    assert choices[view_product.pk].endswith("| 商品 | 可查看商品")
    assert not [label for label in choices.values() if " | Can " in label]


def test_permission_labels_name_the_model_in_the_active_language():
    add_bin = Permission.objects.get(codename="add_bin", content_type__app_label="inventory")
    with translation.override("en"):
        assert permission_label(add_bin).endswith("| bin | Can add bin")
    with translation.override("zh-hans"):
        label = permission_label(add_bin)
    assert label.endswith("| 库位 | 可新增库位")
