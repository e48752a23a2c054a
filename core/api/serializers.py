"""Serializers shared by every app's API: a document's status history (core.status.StatusEvent)."""

from __future__ import annotations

from django.utils.translation import gettext
from rest_framework import serializers

from core.api.fast import FastReadMixin


class NoteField(serializers.CharField):
    """A note the system wrote as a message id (``gettext_noop``) reads in the reader's language; a person's note
    reads as written."""

    def to_representation(self, value):
        return gettext(value) if value else value


class StatusEventSerializer(FastReadMixin, serializers.ModelSerializer):
    """One step of a document's status; a subclass names its event model in ``Meta.model``."""

    note = NoteField(read_only=True)
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        fields = ["from_status", "to_status", "note", "user", "username", "created_at"]
        read_only_fields = fields
