"""Carrier adapters: one module per carrier behind one interface (``base.CarrierAdapter``), chosen by the
account's ``carrier``. ``self_printed`` is the one for postal or local services whose labels Seabridge prints."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import Conflict
from logistics.carriers.base import CarrierAdapter
from logistics.models import CarrierAccount


def adapter_for(account: CarrierAccount) -> CarrierAdapter:
    from logistics.carriers.self_printed import SelfPrinted
    from logistics.carriers.yunexpress import YunExpress

    adapters: dict[str, type[CarrierAdapter]] = {
        CarrierAccount.Kind.SELF: SelfPrinted,
        CarrierAccount.Kind.YUNEXPRESS: YunExpress,
    }
    adapter = adapters.get(account.carrier)
    if adapter is None:
        raise Conflict(
            _("Seabridge cannot make shipments with %(carrier)s yet.") % {"carrier": account.get_carrier_display()},
            code="carrier_not_supported",
            carrier=account.carrier,
        )
    return adapter(account)
