"""Serializers of the purchasing API: they validate input shape; purchasing.services does the writing."""

from __future__ import annotations

from rest_framework import serializers

from inventory.models import Product
from purchasing.models import Supplier, SupplierProduct


class SupplierSerializer(serializers.ModelSerializer):
    # Checked by the service after trimming and upper-casing, so "usd" is accepted as USD.
    currency = serializers.CharField(max_length=3, required=False)

    class Meta:
        model = Supplier
        fields = [
            "id",
            "name",
            "contact_name",
            "email",
            "phone",
            "address",
            "currency",
            "default_lead_time_days",
            "notes",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class SupplierProductSerializer(serializers.ModelSerializer):
    supplier = serializers.PrimaryKeyRelatedField(queryset=Supplier.objects.all())
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    supplier_name = serializers.CharField(source="supplier.name", read_only=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    effective_lead_time_days = serializers.IntegerField(read_only=True)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)

    class Meta:
        model = SupplierProduct
        fields = [
            "id",
            "supplier",
            "supplier_name",
            "product",
            "product_sku",
            "product_name",
            "supplier_sku",
            "unit_cost",
            "minimum_order_quantity",
            "case_pack",
            "lead_time_days",
            "effective_lead_time_days",
            "is_preferred",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The uniqueness rules (one row per supplier and product, supplier SKUs, one preferred row per
        # product) are checked by the service inside its transaction; setting is_preferred is allowed
        # even when another row is preferred, because the service moves the flag.
        validators = []


class SupplierProductUpdateSerializer(SupplierProductSerializer):
    """Supplier and product name the row; to change them, add a new row (and delete the old one)."""

    supplier = serializers.PrimaryKeyRelatedField(read_only=True)
    product = serializers.PrimaryKeyRelatedField(read_only=True)
