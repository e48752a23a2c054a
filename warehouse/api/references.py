"""People and rows named in the floor's API input: a user by id or username, lists of ids checked in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from core.api.references import ID_MAX, Key, ReferenceField
from core.api.scoping import current_scope

# The most rows one filter of a wave's criteria names (methods, carriers, stores).
IDS_MOST = 100


class UserReferenceField(ReferenceField):
    model = get_user_model()
    code_field = "username"
    noun = gettext_lazy("user")
    code_noun = gettext_lazy("username")
    default_error_messages = {"invalid": gettext_lazy("Give the user's id (a number) or username (a string).")}

    def normalize(self, code: str) -> str:
        return code.strip()  # usernames are compared as written

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(_("No user has id %(value)s.") % {"value": value}, code="no_id")
        raise serializers.ValidationError(_("No user has username %(value)s.") % {"value": value}, code="no_code")


class IdListField(serializers.ListField):
    """Ids of rows of a model (``model_of()`` gives it, so a model of an app this one does not import is found
    through a relation); each unknown id is refused at its place in the list with ``missing`` (a sentence with
    ``%(value)s``), all looked up in one query. With ``data_scope`` (a view's declaration, :mod:`core.api.scoping`)
    only rows within the request's data scope are found: an id out of it is answered as one that does not exist."""

    def __init__(self, *, model_of, missing, data_scope=None, **kwargs):
        self.model_of, self.missing, self.data_scope = model_of, missing, data_scope
        kwargs.setdefault("child", serializers.IntegerField(min_value=1, max_value=ID_MAX))
        kwargs.setdefault("max_length", IDS_MOST)
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> tuple[int, ...]:
        ids = super().to_internal_value(data)
        rows = current_scope().filter(self.model_of()._default_manager.all(), self.data_scope)
        found = set(rows.filter(pk__in=ids).values_list("pk", flat=True))
        missing = {
            index: [str(self.missing) % {"value": value}] for index, value in enumerate(ids) if value not in found
        }
        if missing:
            raise serializers.ValidationError(missing, code="no_id")
        return tuple(dict.fromkeys(ids))
