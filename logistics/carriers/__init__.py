"""Carrier adapters: one module per carrier behind one interface (``base.CarrierAdapter``), chosen by the
account's ``carrier``. ``self_printed`` is the one for postal or local services whose labels Seabridge prints."""

from __future__ import annotations

from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from core.errors import Conflict
from logistics.carriers.base import CarrierAdapter
from logistics.models import CarrierAccount

ADAPTERS: dict[str, str] = {
    CarrierAccount.Kind.SELF: "logistics.carriers.self_printed.SelfPrinted",
    CarrierAccount.Kind.YUNEXPRESS: "logistics.carriers.yunexpress.YunExpress",
    CarrierAccount.Kind.DHL_EXPRESS: "logistics.carriers.dhl_express.DhlExpress",
    CarrierAccount.Kind.EASYPOST: "logistics.carriers.easypost.EasyPost",
    CarrierAccount.Kind.FOURPX: "logistics.carriers.fourpx.FourPX",
}


def adapter_for(account: CarrierAccount) -> CarrierAdapter:
    path = ADAPTERS.get(account.carrier)
    if path is None:
        raise Conflict(
            _("Seabridge cannot make shipments with %(carrier)s yet.") % {"carrier": account.get_carrier_display()},
            code="carrier_not_supported",
            carrier=account.carrier,
        )
    adapter: type[CarrierAdapter] = import_string(path)
    return adapter(account)
