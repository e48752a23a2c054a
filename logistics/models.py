"""Carriers, shipping methods (物流渠道) and their rate cards: what a parcel may go by and what it costs.

A rate card prices a parcel of a method: its zones (countries, and postcode prefixes where a carrier prices parts
of a country apart), and per zone, weight brackets priced per kilogram or by first weight and each additional
unit (首重/续重), with a registration fee per parcel, a fuel surcharge on the freight, and a volumetric divisor
(chargeable weight = max(actual, L×W×H ÷ divisor)). ``logistics.quotes`` does the arithmetic.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.status import StatusEvent
from core.validators import validate_country, validate_currency

MONEY = {"max_digits": 18, "decimal_places": 4}


class Carrier(TimeStampedModel):
    """A company that carries parcels (云途, 4PX, DHL Express...)."""

    code = models.CharField(_("code"), max_length=32, unique=True, help_text=_("Short and stable, e.g. YUNEXPRESS."))
    name = models.CharField(_("name"), max_length=100)
    tracking_url = models.CharField(
        _("tracking page"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("Address of the carrier's tracking page, with {tracking} where the tracking number goes."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")

    def __str__(self) -> str:
        return self.name


class ShippingMethod(TimeStampedModel):
    """One product of a carrier that a parcel can be sent by (a 物流渠道), with what it accepts."""

    class ServiceLevel(models.TextChoices):
        ECONOMY = "economy", _("Economy")
        STANDARD = "standard", _("Standard")
        EXPEDITED = "expedited", _("Expedited")
        EXPRESS = "express", _("Express")

    class LabelSize(models.TextChoices):
        SQUARE = "100x100", _("100 × 100 mm")
        THERMAL = "100x150", _("100 × 150 mm (4 × 6 in)")
        A6 = "a6", _("A6")
        A4 = "a4", _("A4")

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="methods", verbose_name=_("carrier"))
    code = models.CharField(_("code"), max_length=32, unique=True, help_text=_("Short and stable, e.g. YT-STD."))
    name = models.CharField(_("name"), max_length=100)
    carrier_product_code = models.CharField(
        _("carrier's product code"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("As the carrier's API names it."),
    )
    account = models.ForeignKey(
        "logistics.CarrierAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="methods",
        verbose_name=_("carrier account"),
        help_text=_("The account its labels are made with."),
    )
    service_level = models.CharField(
        _("service level"), max_length=16, choices=ServiceLevel.choices, default=ServiceLevel.STANDARD
    )
    label_size = models.CharField(_("label size"), max_length=8, choices=LabelSize.choices, default=LabelSize.THERMAL)
    tracked = models.BooleanField(_("tracked"), default=True)
    max_weight_g = models.PositiveIntegerField(_("heaviest parcel (g)"), null=True, blank=True)
    max_length_mm = models.PositiveIntegerField(_("longest side (mm)"), null=True, blank=True)
    max_dimensions_sum_mm = models.PositiveIntegerField(
        _("largest length + width + height (mm)"), null=True, blank=True
    )
    countries = ArrayField(
        models.CharField(max_length=2, validators=[validate_country]),
        verbose_name=_("countries served"),
        default=list,
        blank=True,
        help_text=_("ISO codes such as US GB DE; empty for everywhere its rate card prices."),
    )
    allows_battery = models.BooleanField(_("takes batteries"), default=False)
    allows_liquid = models.BooleanField(_("takes liquids"), default=False)
    transit_days_min = models.PositiveSmallIntegerField(_("transit days, fewest"), null=True, blank=True)
    transit_days_max = models.PositiveSmallIntegerField(_("transit days, most"), null=True, blank=True)
    marketplace_carrier_codes = models.JSONField(
        _("carrier names for the marketplaces"),
        default=dict,
        blank=True,
        help_text=_('The carrier as each marketplace expects it, e.g. {"amazon": "YunExpress", "ebay": "YunExpress"}.'),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")
        constraints = [
            models.CheckConstraint(
                condition=Q(transit_days_min__isnull=True)
                | Q(transit_days_max__isnull=True)
                | Q(transit_days_min__lte=models.F("transit_days_max")),
                name="method_transit_days_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RateCard(TimeStampedModel):
    """The prices of a method, valid from a day; the card in force is the latest one valid that day."""

    method = models.ForeignKey(
        ShippingMethod, on_delete=models.CASCADE, related_name="rate_cards", verbose_name=_("shipping method")
    )
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency], default="CNY")
    valid_from = models.DateField(_("valid from"), null=True, blank=True, help_text=_("Empty: valid from the start."))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Empty: valid until replaced."))
    volumetric_divisor = models.PositiveIntegerField(
        _("volumetric divisor (cm³ per kg)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1000), MaxValueValidator(20000)],
        help_text=_("Usually 5000, 6000 or 8000; empty when the carrier charges actual weight only."),
    )
    weight_step_g = models.PositiveIntegerField(
        _("weight rounded up to (g)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("The chargeable weight is rounded up to a multiple of this, e.g. 10 g, or 500 g for express."),
    )
    fuel_surcharge_percent = models.DecimalField(
        _("fuel surcharge (%)"),
        max_digits=7,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("On the freight, not on the registration fee."),
    )
    registration_fee = models.DecimalField(
        _("registration fee"), **MONEY, default=0, validators=[MinValueValidator(0)], help_text=_("Per parcel.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["method", "-valid_from", "pk"]
        verbose_name = _("rate card")
        verbose_name_plural = _("rate cards")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lte=models.F("valid_to")),
                name="ratecard_validity_order",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RateZone(models.Model):
    """Where a rate card's prices apply: countries, or the parts of them whose postcodes start so."""

    card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="zones", verbose_name=_("rate card"))
    code = models.CharField(_("zone"), max_length=32)
    countries = ArrayField(models.CharField(max_length=2, validators=[validate_country]), verbose_name=_("countries"))
    postcode_prefixes = ArrayField(
        models.CharField(max_length=16),
        verbose_name=_("postcode prefixes"),
        default=list,
        blank=True,
        help_text=_("Empty: the whole of its countries. A postcode takes the zone with its longest matching prefix."),
    )

    class Meta:
        ordering = ["card", "code"]
        verbose_name = _("rate zone")
        verbose_name_plural = _("rate zones")
        constraints = [models.UniqueConstraint(fields=["card", "code"], name="ratezone_card_code_unique")]

    def __str__(self) -> str:
        return self.code


class RateBracket(models.Model):
    """The price of a zone's parcels up to a weight: per kilogram, or a first weight and each unit after it."""

    class Pricing(models.TextChoices):
        PER_KG = "per_kg", _("Per kilogram")
        FIRST_ADDITIONAL = "first_additional", _("First weight + each additional unit")

    zone = models.ForeignKey(RateZone, on_delete=models.CASCADE, related_name="brackets", verbose_name=_("zone"))
    max_weight_g = models.PositiveIntegerField(_("up to (g)"), validators=[MinValueValidator(1)])
    pricing = models.CharField(_("pricing"), max_length=16, choices=Pricing.choices, default=Pricing.PER_KG)
    price_per_kg = models.DecimalField(
        _("price per kg"), **MONEY, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    first_weight_g = models.PositiveIntegerField(_("first weight (g)"), null=True, blank=True)
    first_price = models.DecimalField(
        _("first weight price"), **MONEY, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    additional_unit_g = models.PositiveIntegerField(
        _("additional unit (g)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    additional_price = models.DecimalField(
        _("price per additional unit"), **MONEY, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    registration_fee = models.DecimalField(
        _("registration fee"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Per parcel in this bracket; empty: the rate card's."),
    )

    class Meta:
        ordering = ["zone", "max_weight_g"]
        verbose_name = _("weight bracket")
        verbose_name_plural = _("weight brackets")
        constraints = [
            models.UniqueConstraint(fields=["zone", "max_weight_g"], name="ratebracket_zone_weight_unique"),
            models.CheckConstraint(
                condition=Q(pricing="per_kg", price_per_kg__isnull=False)
                | Q(
                    pricing="first_additional",
                    first_weight_g__isnull=False,
                    first_price__isnull=False,
                    additional_unit_g__gt=0,
                    additional_price__isnull=False,
                ),
                name="ratebracket_pricing_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"≤ {self.max_weight_g} g"


class CarrierAccount(TimeStampedModel):
    """The seller's account with a carrier, through which shipments are made (connects like a store)."""

    class Kind(models.TextChoices):
        YUNEXPRESS = "yunexpress", _("YunExpress")
        DHL_EXPRESS = "dhl_express", _("DHL Express")
        EASYPOST = "easypost", _("EasyPost")
        FOURPX = "4px", _("4PX")
        YANWEN = "yanwen", _("Yanwen")
        SELF = "self", _("Self-printed (post or local courier)")

    carrier = models.CharField(_("carrier"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, unique=True)
    api_base_url = models.URLField(_("API address"), blank=True, default="")
    credentials_encrypted = models.TextField(_("credentials (encrypted)"), blank=True, default="", editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    sender = models.JSONField(
        _("sender"),
        default=dict,
        blank=True,
        help_text=_("The return address printed on labels: name, company, address lines, city, postcode, country."),
    )
    label_format = models.CharField(
        _("label format"),
        max_length=8,
        choices=[("pdf", "PDF"), ("zpl", "ZPL")],
        default="pdf",
        help_text=_("PDF for any printer; ZPL for a Zebra-type thermal printer, where the carrier can send it."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("carrier account")
        verbose_name_plural = _("carrier accounts")

    def __str__(self) -> str:
        return self.name


class TrackingNumberRange(TimeStampedModel):
    """Tracking numbers a postal or local carrier gave the seller, used one by one for labels Seabridge prints.

    ``s10`` numbers follow the UPU S10 standard: two service letters, eight serial digits, a check digit (weights
    8 6 4 2 3 5 9 7, modulo 11) and the country of origin (RR123456785CN); ``plain`` ones are prefix, the number
    padded to ``width`` digits, and suffix."""

    class Scheme(models.TextChoices):
        S10 = "s10", _("UPU S10 (postal)")
        PLAIN = "plain", _("Prefix, number, suffix")

    account = models.ForeignKey(
        CarrierAccount, on_delete=models.CASCADE, related_name="number_ranges", verbose_name=_("carrier account")
    )
    scheme = models.CharField(_("scheme"), max_length=8, choices=Scheme.choices, default=Scheme.S10)
    prefix = models.CharField(_("prefix"), max_length=10, blank=True, default="")
    suffix = models.CharField(_("suffix"), max_length=10, blank=True, default="")
    width = models.PositiveSmallIntegerField(_("digits"), default=8, validators=[MinValueValidator(1)])
    first_number = models.PositiveBigIntegerField(_("first number"))
    last_number = models.PositiveBigIntegerField(_("last number"))
    next_number = models.PositiveBigIntegerField(_("next number"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["account", "first_number"]
        verbose_name = _("tracking number range")
        verbose_name_plural = _("tracking number ranges")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_number__lte=F("last_number")), name="numberrange_first_before_last"
            ),
            models.CheckConstraint(
                condition=Q(next_number__gte=F("first_number")) & Q(next_number__lte=F("last_number") + 1),
                name="numberrange_next_within",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}{self.first_number}–{self.last_number}{self.suffix}"


class Manifest(TimeStampedModel):
    """A hand-over (交运): the parcels given to one carrier at one pickup, closed together and confirmed with the
    carrier where its API has that step; its PDF lists the parcels, their weights and the counts."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSING = "closing", _("Being handed over")
        HANDED_OVER = "handed_over", _("Handed over")

    number = models.CharField(_("number"), max_length=20, unique=True)
    account = models.ForeignKey(
        CarrierAccount, on_delete=models.PROTECT, related_name="manifests", verbose_name=_("carrier account")
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="manifests",
        verbose_name=_("warehouse"),
    )
    pickup = models.CharField(
        _("pickup"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Which collection this is, e.g. the afternoon van or the drop-off point."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    closing_since = models.DateTimeField(_("hand-over started at"), null=True, blank=True, editable=False)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handed over by"),
    )
    carrier_manifest_id = models.CharField(_("carrier's manifest ID"), max_length=100, blank=True, default="")
    carrier_document = models.BinaryField(_("carrier's document"), blank=True, null=True, editable=False)
    carrier_message = models.TextField(_("carrier's message"), blank=True, default="")
    parcel_count = models.PositiveIntegerField(_("parcels"), default=0)
    total_weight_g = models.PositiveBigIntegerField(_("total weight (g)"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("manifest")
        verbose_name_plural = _("manifests")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "warehouse", "pickup"],
                condition=Q(status="open"),
                name="manifest_one_open_per_pickup",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Shipment(TimeStampedModel):
    """A parcel handed to a carrier: its tracking number, its label as printed, weights, cost and customs lines.

    Made from an order's parcel (``orders.Parcel``, which knows its orders); its status moves through
    ``logistics.shipments.SHIPMENT_STATUS``."""

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        LABEL_READY = "label_ready", _("Label ready")
        HANDED_OVER = "handed_over", _("Handed over")
        IN_TRANSIT = "in_transit", _("In transit")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Exception")
        RETURNED = "returned", _("Returned")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Refused by the carrier")

    number = models.CharField(_("number"), max_length=20, unique=True)
    parcel = models.ForeignKey(
        "orders.Parcel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("parcel"),
    )
    reference = models.CharField(
        _("reference"), max_length=64, help_text=_("The order reference printed on the label and sent to the carrier.")
    )
    account = models.ForeignKey(
        CarrierAccount, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("carrier account")
    )
    method = models.ForeignKey(
        ShippingMethod, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("shipping method")
    )
    status = models.CharField(_("status"), max_length=32, choices=Status.choices, default=Status.CREATED)
    carrier_reference = models.CharField(
        _("our reference with the carrier"),
        max_length=64,
        blank=True,
        default="",
        help_text=_(
            "The number the carrier knows the parcel by from us; a retry sends the same, never a second parcel."
        ),
    )
    carrier_order_id = models.CharField(_("carrier's order ID"), max_length=100, blank=True, default="")
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True, default="", db_index=True)
    label = models.BinaryField(_("label"), blank=True, null=True, editable=False)
    label_format = models.CharField(_("label format"), max_length=8, blank=True, default="")
    label_size = models.CharField(_("label size"), max_length=16, blank=True, default="")
    recipient = models.JSONField(_("recipient"), default=dict)
    sender = models.JSONField(_("sender"), default=dict, blank=True)
    expected_weight_g = models.PositiveIntegerField(_("expected weight (g)"), null=True, blank=True)
    declared_weight_g = models.PositiveIntegerField(_("declared weight (g)"), null=True, blank=True)
    actual_weight_g = models.PositiveIntegerField(_("actual weight (g)"), null=True, blank=True)
    length_mm = models.PositiveIntegerField(_("length (mm)"), null=True, blank=True)
    width_mm = models.PositiveIntegerField(_("width (mm)"), null=True, blank=True)
    height_mm = models.PositiveIntegerField(_("height (mm)"), null=True, blank=True)
    quoted_cost = models.DecimalField(_("quoted cost"), **MONEY, null=True, blank=True)
    billed_cost = models.DecimalField(_("billed cost"), **MONEY, null=True, blank=True)
    cost_currency = models.CharField(_("cost currency"), max_length=3, blank=True, default="")
    ioss_number = models.CharField(_("IOSS number"), max_length=32, blank=True, default="")
    vat_number = models.CharField(_("VAT number"), max_length=32, blank=True, default="")
    eori_number = models.CharField(_("EORI number"), max_length=32, blank=True, default="")
    carrier_message = models.TextField(_("carrier's message"), blank=True, default="")
    void_requested_at = models.DateTimeField(
        _("to void since"),
        null=True,
        blank=True,
        help_text=_("Its order was cancelled or its parcel undone: the label is being voided with the carrier."),
    )
    void_reason = models.CharField(_("why void"), max_length=200, blank=True, default="")
    manifest = models.ForeignKey(
        Manifest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("manifest"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_tracking_per_account_unique",
            ),
            models.UniqueConstraint(
                fields=["parcel"],
                condition=~Q(status__in=["cancelled", "failed"]),
                name="shipment_one_live_per_parcel",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number or self.number


class ShipmentEvent(StatusEvent):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment"))

    class Meta(StatusEvent.Meta):
        verbose_name = _("shipment event")
        verbose_name_plural = _("shipment events")


class LabelPrint(models.Model):
    """Each time a label was printed (or downloaded): who, when, and whether it was a reprint, so a second label
    for one parcel is never a mystery."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="prints", verbose_name=_("shipment"))
    reprint = models.BooleanField(_("reprint"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    batch = models.CharField(
        _("batch"), max_length=64, blank=True, default="", help_text=_("The wave or batch printed together.")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    printed_at = models.DateTimeField(_("printed at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("label print")
        verbose_name_plural = _("label prints")

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.printed_at:%Y-%m-%d %H:%M}"


class CustomsLine(models.Model):
    """One line of a shipment's customs declaration (CN22/CN23), from the product's data."""

    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="customs_lines", verbose_name=_("shipment")
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name_en = models.CharField(_("declared name (English)"), max_length=200)
    name_zh = models.CharField(_("declared name (Chinese)"), max_length=200, blank=True, default="")
    hs_code = models.CharField(_("HS code"), max_length=16)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_value = models.DecimalField(_("unit value"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    unit_weight_g = models.PositiveIntegerField(_("unit weight (g)"))
    origin_country = models.CharField(_("origin"), max_length=2, validators=[validate_country])

    class Meta:
        ordering = ["id"]
        verbose_name = _("customs line")
        verbose_name_plural = _("customs lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="customsline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class TrackingEvent(models.Model):
    """One step of a parcel's journey as the carrier reported it, with its meaning in Seabridge's words."""

    class Kind(models.TextChoices):
        INFO = "info", _("Information")
        IN_TRANSIT = "in_transit", _("In transit")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Exception")
        RETURNED = "returned", _("Returned")

    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="tracking_events", verbose_name=_("shipment")
    )
    occurred_at = models.DateTimeField(_("when"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("carrier's code"), max_length=32, blank=True, default="")
    description = models.CharField(_("description"), max_length=500, blank=True, default="")
    location = models.CharField(_("where"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["shipment", "occurred_at", "id"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "occurred_at", "code", "description"], name="trackingevent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description}"
