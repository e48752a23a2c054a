"""Carrier adapters: one module per carrier behind one interface (``base.CarrierAdapter``), chosen by the
account's ``carrier``. ``self_printed`` is the one for postal or local services whose labels Seabridge prints."""

from __future__ import annotations

from logistics.carriers.base import CarrierAdapter
from logistics.models import CarrierAccount


def adapter_for(account: CarrierAccount) -> CarrierAdapter:
    from logistics.carriers.self_printed import SelfPrinted
    from logistics.carriers.yunexpress import YunExpress

    adapters: dict[str, type[CarrierAdapter]] = {
        CarrierAccount.Kind.SELF: SelfPrinted,
        CarrierAccount.Kind.YUNEXPRESS: YunExpress,
    }
    try:
        return adapters[account.carrier](account)
    except KeyError:
        raise NotImplementedError(f"No adapter for {account.carrier} yet.") from None
