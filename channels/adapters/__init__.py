"""One adapter per platform (``channels.adapters.<channel>``), found by the store's channel."""

from __future__ import annotations

from importlib import import_module

from channels.adapters.base import ChannelAdapter

ADAPTERS = {
    "amazon": "channels.adapters.amazon.AmazonAdapter",
    "ebay": "channels.adapters.ebay.EbayAdapter",
    "aliexpress": "channels.adapters.aliexpress.AliExpressAdapter",
    "wish": "channels.adapters.wish.WishAdapter",
    "shopify": "channels.adapters.shopify.ShopifyAdapter",
}


# The credentials each platform needs, by the names it uses (checked when a store is connected; each adapter's
# ``credential_names`` says the same, which a test holds them to).
CREDENTIAL_NAMES = {
    "amazon": ("client_id", "client_secret", "refresh_token", "seller_id"),
    "ebay": ("client_id", "client_secret", "refresh_token"),
    "aliexpress": ("app_key", "app_secret", "access_token", "refresh_token"),
    "wish": ("client_id", "client_secret", "access_token", "refresh_token"),
    "shopify": ("access_token",),
    "manual": (),
}
# Other complete sets a platform accepts instead: a Shopify app installed on the seller's own store connects with
# its client ID and secret (the adapter takes 24-hour tokens by the client credentials grant).
CREDENTIAL_ALTERNATIVES = {
    "shopify": (("client_id", "client_secret"),),
}


def adapter_class(channel: str) -> type[ChannelAdapter]:
    """The adapter of a channel; KeyError for a channel without one (manual stores)."""
    module_name, _, class_name = ADAPTERS[channel].rpartition(".")
    return getattr(import_module(module_name), class_name)
