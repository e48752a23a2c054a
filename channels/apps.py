from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    verbose_name = "Sales channels"
    name = "channels"
    label = "channels"
