"""Serializers shared by every app's API: a document's status history (core.status.StatusEvent)."""

from __future__ import annotations

from rest_framework import serializers


class StatusEventSerializer(serializers.ModelSerializer):
    """One step of a document's status; a subclass names its event model in ``Meta.model``."""

    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        fields = ["from_status", "to_status", "note", "user", "username", "created_at"]
        read_only_fields = fields
