"""The scan pages, mounted at /scan/."""

from django.urls import path

from warehouse.scan import count, fast_lane, hand_over, move, pack, pick, put_away, receive, sort, views

app_name = "scan"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.ScanLoginView.as_view(), name="login"),
    path("logout/", views.ScanLogoutView.as_view(), name="logout"),
    path("warehouse/", views.WarehouseView.as_view(), name="warehouse"),
    path("receive/", receive.ReceiveView.as_view(), name="receive"),
    path("put-away/", put_away.PutAwayView.as_view(), name="put_away"),
    path("pick/", pick.PickView.as_view(), name="pick"),
    path("sort/", sort.SortView.as_view(), name="sort"),
    path("pack/", pack.PackView.as_view(), name="pack"),
    path("pack/override/", pack.PackOverrideView.as_view(), name="pack_override"),
    path("fast-lane/", fast_lane.FastLaneView.as_view(), name="fast_lane"),
    path("hand-over/", hand_over.HandOverView.as_view(), name="hand_over"),
    path("hand-over/carrier/", hand_over.HandOverCarrierView.as_view(), name="hand_over_carrier"),
    path("count/", count.CountView.as_view(), name="count"),
    path("move/", move.MoveView.as_view(), name="move"),
]
