"""SKU mappings in spreadsheets (import and export in the admin); saves go through the mapping service, so the
orders waiting on a SKU are released when its row is imported."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from import_export.fields import Field

from channels import services
from channels.models import SkuMapping, Store
from core.models import adopt_saved
from core.resources import NaturalKeyWidget, SpreadsheetResource
from inventory.models import Product

MAPPING_COLUMNS = ["store", "channel_sku", "product", "quantity", "listing_id", "listing_variant_id"]


class SkuMappingResource(SpreadsheetResource):
    """Mappings by store name + channel SKU."""

    store = Field(attribute="store", column_name="store", widget=NaturalKeyWidget(Store, "name", upper=False))
    product = Field(attribute="product", column_name="product", widget=NaturalKeyWidget(Product, "sku"))

    select_related = ("store", "product")
    check_unique_constraints = False  # one row per (store, SKU): the service changes the mapping in place

    class Meta:
        model = SkuMapping
        name = gettext_lazy("SKU mappings")
        import_id_fields = ["store", "channel_sku"]
        fields = MAPPING_COLUMNS
        export_order = MAPPING_COLUMNS

    def do_instance_save(self, instance, is_create):
        mapping, _created = services.sku_mapping_save(
            store=instance.store,
            channel_sku=instance.channel_sku,
            product=instance.product,
            quantity=instance.quantity,
            listing_id=instance.listing_id,
            listing_variant_id=instance.listing_variant_id,
        )
        adopt_saved(instance, mapping)
