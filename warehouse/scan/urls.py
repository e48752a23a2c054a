"""The scan pages, mounted at /scan/."""

from django.urls import path

from warehouse.scan import hand_over, views

app_name = "scan"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.ScanLoginView.as_view(), name="login"),
    path("logout/", views.ScanLogoutView.as_view(), name="logout"),
    path("warehouse/", views.WarehouseView.as_view(), name="warehouse"),
    path("hand-over/", hand_over.HandOverView.as_view(), name="hand_over"),
    path("hand-over/carrier/", hand_over.HandOverCarrierView.as_view(), name="hand_over_carrier"),
]
