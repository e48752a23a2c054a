"""What every scan page shares: the login, the warehouse a person works in (kept in the session and remembered for
the next login), the permission check with a clear page when it fails, and ``ScanView``, which turns a scan's
answer into JSON for the page's script (or a redirect with the answer kept for the next page, without script).

The warehouse a person chose is in the session; a new session (another login, another phone) takes it from their
``ScanPreference``, so they choose it once.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Permission
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from core.admin import permission_label
from core.errors import Conflict, NotFound
from core.twofactor import FLOW_SCAN, TwoFactorLoginMixin
from inventory.models import Warehouse
from warehouse.models import Wave
from warehouse.scan.pages import FLOOR_PERMISSION, floor_pages_for
from warehouse.scan_selectors import scan_warehouse_remembered, scan_wave
from warehouse.scans import ERROR, SCAN_CODE_MAX, ScanAnswer, ScanDone, scan_record, scan_warehouse_remember

WAREHOUSE_KEY = "scan_warehouse"
ANSWER_KEY = "scan_answer"


def warehouse_of(request: HttpRequest) -> Warehouse | None:
    """The warehouse the person works in: this session's, else the one they chose last (then kept in the session)."""
    warehouse_id = request.session.get(WAREHOUSE_KEY)
    if warehouse_id is not None:
        warehouse = Warehouse.objects.filter(pk=warehouse_id, is_active=True).first()
        if warehouse is not None:
            return warehouse
    warehouse = scan_warehouse_remembered(request.user)
    if warehouse is not None:
        request.session[WAREHOUSE_KEY] = warehouse.pk
    return warehouse


def denied(request: HttpRequest, missing: list[str]) -> HttpResponse:
    """403 as a page a person can act on: what they may not do, which permission it needs, and a way out."""
    condition = Q(pk__in=[])
    for permission in missing:
        app_label, _dot, codename = permission.partition(".")
        condition |= Q(content_type__app_label=app_label, codename=codename)
    found = Permission.objects.select_related("content_type").filter(condition).order_by("content_type", "codename")
    labels = [permission_label(permission) for permission in found] or missing
    return render(request, "scan/denied.html", {"permissions": labels}, status=403)


def wave_scanned(code: str, warehouse: Warehouse, *, statuses: tuple[str, ...], refused: str, error_code: str) -> Wave:
    """The wave whose number was scanned on a page that works on waves in ``statuses``; else NotFound, or Conflict
    with ``refused`` (a text with %(wave)s and %(status)s: "Wave WAV… is Done: nothing to sort.")."""
    wave = scan_wave(warehouse=warehouse, code=code)
    if wave is None:
        raise NotFound(_("No wave %(code)s in this warehouse.") % {"code": code}, code="unknown_wave", scan=code)
    if wave.status not in statuses:
        raise Conflict(refused % {"wave": wave.number, "status": wave.get_status_display()}, code=error_code)
    return wave


def looks_like_wave(code: str) -> bool:
    """A wave's number (``WAV00000042``): a page that works on one wave takes it to change waves at any scan."""
    return code.upper().startswith("WAV") and code[3:].isdigit()


class FloorView(TemplateView):
    """A page of the floor: a login, the page's permissions, and (``needs_warehouse``) the warehouse chosen."""

    permissions: tuple[str, ...] = (FLOOR_PERMISSION,)
    needs_warehouse = True
    warehouse: Warehouse | None = None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("scan:login"))
        missing = [permission for permission in self.permissions if not request.user.has_perm(permission)]
        if missing:
            return denied(request, missing)
        if self.needs_warehouse:
            self.warehouse = warehouse_of(request)
            if self.warehouse is None:
                return redirect(f"{reverse('scan:warehouse')}?{urlencode({'next': request.path}, safe='/')}")
        not_ready = self.prepare()
        if not_ready is not None:
            return not_ready
        return super().dispatch(request, *args, **kwargs)

    def prepare(self) -> HttpResponse | None:
        """What the page needs before it shows (a carrier chosen...); a redirect to get it, or None."""
        return None

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "warehouse": self.warehouse}


class ScanView(FloorView):
    """A page whose input takes scans. ``scan(code)`` runs the step through ``warehouse.scans.scan_record``; the
    answer goes back as JSON with the page's state (``state_template_name``, rendered again) when the page's
    script asks, else it is kept for the page the browser is sent back to.

    A button may send a command instead of a code (``name="command"``, e.g. CLOSE): the same path as a scanned
    command card."""

    step: str = ""
    state_template_name = ""
    prompt = gettext_lazy("Scan.")

    def scan(self, code: str) -> ScanAnswer:
        """Answer one scan, usually ``self.record(code, do=...)``."""
        raise NotImplementedError

    def record(self, code: str, *, do: Callable[[], ScanDone], reference: str = "", wave=None) -> ScanAnswer:
        """``scan_record`` for this page's step, person and warehouse."""
        return scan_record(
            user=self.request.user,
            warehouse=self.warehouse,
            step=self.step,
            code=code,
            do=do,
            reference=reference,
            wave=wave,
        )

    def state_context(self) -> dict:
        """What ``state_template_name`` shows: counts, the document worked on, the last scans."""
        return {}

    # What a page keeps between scans (its wave, the parcel open...) is in the session under ``memory_key``, for
    # one warehouse: the page opened in another warehouse starts afresh.
    memory_key = ""

    def memory(self) -> dict:
        kept = self.request.session.get(self.memory_key) or {}
        return kept if kept.get("warehouse") == self.warehouse.pk else {"warehouse": self.warehouse.pk}

    def remember(self, **changes) -> None:
        self.request.session[self.memory_key] = {**self.memory(), **changes}

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            **self.state_context(),
            "scan_url": self.request.path,
            "prompt": self.prompt,
            "answer": self.request.session.pop(ANSWER_KEY, None),
            "state_template": self.state_template_name,
        }

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        code = (request.POST.get("command") or request.POST.get("code") or "").strip()
        if not code:
            answer = {"ok": False, "level": ERROR, "message": str(self.prompt), "code": "scan_empty"}
        else:
            answer = self.scan(code).as_dict()
        answer["scanned"] = code[:SCAN_CODE_MAX]
        if request.headers.get("Accept", "").startswith("application/json"):
            answer["state"] = render_to_string(self.state_template_name, self.state_context(), request=request)
            return JsonResponse(answer)
        request.session[ANSWER_KEY] = answer
        return redirect(request.get_full_path())


class ScanLoginView(TwoFactorLoginMixin, auth_views.LoginView):
    # A user with two-factor login types the code on a second page before the session is logged in.
    two_factor_flow = FLOW_SCAN
    template_name = "scan/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("scan:home")


class ScanLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("scan:login")


class HomeView(FloorView):
    """The menu: the warehouse, and the steps this person may do there."""

    template_name = "scan/home.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "pages": floor_pages_for(self.request.user)}


class WarehouseView(FloorView):
    """Choose the warehouse: scan or type its code, or tap it; remembered for the next login."""

    template_name = "scan/warehouse.html"
    needs_warehouse = False

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "warehouse": warehouse_of(self.request),
            "warehouses": Warehouse.objects.filter(is_active=True).order_by("code"),
            "scan_url": self.request.get_full_path(),
            "prompt": _("Scan or type the warehouse's code, or choose it."),
        }

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        chosen = request.POST.get("warehouse", "")
        code = request.POST.get("code", "").strip()
        active = Warehouse.objects.filter(is_active=True)
        if chosen.isdigit() and len(chosen) < 19:
            warehouse = active.filter(pk=int(chosen)).first()
        else:
            warehouse = active.filter(code__iexact=code).first() if 0 < len(code) <= SCAN_CODE_MAX else None
        if warehouse is None:
            context = self.get_context_data()
            message = (
                _("No active warehouse has the code %(code)s.") % {"code": code} if code else _("Choose a warehouse.")
            )
            context["answer"] = {"level": ERROR, "message": message, "scanned": code[:SCAN_CODE_MAX]}
            return self.render_to_response(context)
        request.session[WAREHOUSE_KEY] = warehouse.pk
        scan_warehouse_remember(user=request.user, warehouse=warehouse)
        following = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            following, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            following = reverse("scan:home")
        return redirect(following)
