"""Two-factor login's pages, mounted at /admin/2fa/: the login's code step and the enrolment page."""

from django.urls import path

from core import twofactor

app_name = "two_factor"

urlpatterns = [
    path("", twofactor.manage, name="manage"),
    path("verify/", twofactor.verify, name="verify"),
]
