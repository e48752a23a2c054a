"""Stores, SKU mappings, sync runs and rejected orders in the API. Credentials are write-only: the API says
which names a store has, never their values."""

from __future__ import annotations

from rest_framework import serializers

from channels.models import Channel, RejectedOrder, SkuMapping, Store, SyncRun
from channels.services import store_credential_names_set
from core.api.scoping import ScopedPrimaryKeyRelatedField
from inventory.api.references import ProductReferenceField, WarehouseReferenceField

CREDENTIALS_HELP = (
    "Write-only. The names each platform uses: amazon client_id, client_secret, refresh_token, seller_id; ebay "
    "client_id, client_secret, refresh_token; aliexpress app_key, app_secret, access_token, refresh_token; wish "
    "client_id, client_secret, access_token, refresh_token; shopify access_token; manual none. Replaces the "
    "stored credentials when given."
)


class WarehousesField(serializers.ListField):
    """The store's warehouses: given by id or code, shown by id."""

    def get_attribute(self, instance):
        return list(instance.warehouses.all())


class StoreSerializer(serializers.ModelSerializer):
    credentials = serializers.DictField(
        child=serializers.CharField(max_length=4000, allow_blank=True),
        write_only=True,
        required=False,
        help_text=CREDENTIALS_HELP,
    )
    credentials_set = serializers.SerializerMethodField(help_text="The names of the credentials the store has.")
    warehouses = WarehousesField(
        child=WarehouseReferenceField(), required=False, help_text="Warehouses (ids or codes) whose stock it is shown."
    )
    channel = serializers.ChoiceField(choices=Channel.choices)

    class Meta:
        model = Store
        fields = [
            "id",
            "channel",
            "name",
            "marketplace_id",
            "api_base_url",
            "auth_url",
            "options",
            "credentials",
            "credentials_set",
            "is_active",
            "sync_interval_minutes",
            "import_from",
            "orders_synced_to",
            "warehouses",
            "split_orders",
            "tracking_to_store",
            "stock_buffer",
            "stock_percent",
            "push_stock",
            "last_success_at",
            "last_failure_at",
            "failures_in_row",
            "last_error",
            "credentials_expire_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "orders_synced_to",
            "last_success_at",
            "last_failure_at",
            "failures_in_row",
            "last_error",
            "credentials_expire_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"import_from": {"required": False}, "name": {"validators": []}}

    def get_credentials_set(self, store: Store) -> list[str]:
        return store_credential_names_set(store)


class SyncRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SyncRun.Kind.choices)


class SyncRunSerializer(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name", read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "store",
            "store_name",
            "kind",
            "status",
            "trigger",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "window_start",
            "window_end",
            "counts",
            "errors",
            "requests",
            "seconds_waiting",
            "seconds_backing_off",
        ]
        read_only_fields = fields


class SkuMappingSerializer(serializers.ModelSerializer):
    store = ScopedPrimaryKeyRelatedField(queryset=Store.objects.all(), data_scope={"store": "id"}, label="Store")
    product = ProductReferenceField(help_text="Product (or bundle) id or SKU.")
    product_sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = SkuMapping
        fields = [
            "id",
            "store",
            "channel_sku",
            "product",
            "product_sku",
            "quantity",
            "listing_id",
            "listing_variant_id",
            "options",
            "is_automatic",
            "pushed_quantity",
            "pushed_at",
            "push_status",
            "push_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "product_sku",
            "is_automatic",
            "pushed_quantity",
            "pushed_at",
            "push_status",
            "push_error",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"quantity": {"min_value": 1, "max_value": 10_000}}
        validators = []


class RejectedOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectedOrder
        fields = [
            "id",
            "store",
            "channel_order_id",
            "field",
            "message",
            "raw",
            "first_seen_at",
            "last_seen_at",
            "resolved_at",
        ]
        read_only_fields = fields


class OrdersImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8, UTF-16 or GB18030) or XLSX: one row per order line.")


class OrdersImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    held = serializers.IntegerField(help_text="Orders held, e.g. for a SKU without a mapping.")
