"""TikTok Shop writeback: a seller-shipped order's packages get the seller's tracking (Ship Package, or Mark
Package As Shipped for line items no package holds yet), each parcel its own package; a TikTok-shipped order
gets no self-shipment: TikTok issues its label, and its package tracking is read back instead.
"""

from __future__ import annotations

from django.core.cache import cache

from channels_sync.normalized import CommonStatus, WritebackRequest, WritebackResult
from channels_sync.providers.errors import ChannelError, PermanentChannelError
from channels_sync.providers.oauth import token_cache_key
from channels_sync.providers.tiktok.normalize import API_VERSION

SHIP_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}/ship"
MARK_SHIPPED_PATH = "/fulfillment/" + API_VERSION + "/orders/{order_id}/packages"
UPDATE_SHIPPING_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}/shipping_info/update"
PACKAGE_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}"
PROVIDERS_PATH = "/logistics/" + API_VERSION + "/delivery_options/{delivery_option_id}/shipping_providers"
ALREADY_SHIPPED_CODES = {11006021, 21008099, 21011020, 21011040}
# Line item display_status values once its package has left the seller (Get Order Detail).
SHIPPED_ITEM_STATUSES = {"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"}
PROVIDERS_CACHE_SECONDS = 24 * 3600   # a delivery option's carriers change when the seller edits the template


def platform_ships(order: dict) -> bool:
    """`shipping_type` TIKTOK: TikTok provides the shipping (the seller prints TikTok's label); SELLER (the
    default when absent): the seller ships with a carrier of their own and uploads its tracking."""
    return str(order.get("shipping_type") or "").upper() == "TIKTOK"


def _live_items(order: dict) -> list[dict]:
    return [item for item in order.get("line_items") or []
            if item.get("id") and item.get("display_status") != "CANCELLED"]


def _item_shipped(item: dict) -> bool:
    """By status, not by a tracking number: TikTok's own label puts one on a line item before it leaves."""
    return (item.get("display_status") in SHIPPED_ITEM_STATUSES
            or item.get("package_status") in ("FULFILLING", "COMPLETED"))


def _package_of(order: dict) -> dict[str, str | None]:
    """{line item id: its package id}: the line item's own `package_id`, else the order's only package (TikTok
    creates one package for the whole order at payment); None: no package holds it yet."""
    packages = [str(p["id"]) for p in order.get("packages") or [] if p.get("id")]
    only = packages[0] if len(packages) == 1 else None
    return {str(item["id"]): (str(item["package_id"]) if item.get("package_id") else only)
            for item in _live_items(order)}


class WritebackMixin:
    """Provider's writeback half (uses the client's signed `call`, `fetch_order` and `package_ids`)."""

    # --- carriers: TikTok wants its own shipping_provider_id --------------------------------------------
    def shipment_carriers(self, order: dict | None = None) -> list[str]:
        """Carrier names this channel maps to a shipping_provider_id for an order: the config map, then the
        providers of the order's delivery option (TikTok's list, cached a day). `accepted_carriers()`, a class
        method without channel or order, cannot know them and stays None."""
        names = [str(name) for name in (self.config.get("shippingProviderIds") or {})]
        for provider in self._delivery_option_providers((order or {}).get("delivery_option_id")) or []:
            if provider.get("name") and provider["name"] not in names:
                names.append(str(provider["name"]))
        return names

    def carrier_problem(self, carrier: str | None, raw: dict) -> list[str] | None:
        """None when the shipment can be written back as typed; else the carriers to name in the 400. A
        TikTok-shipped order needs none (TikTok's label names the carrier)."""
        if platform_ships(raw or {}):
            return None
        if carrier and carrier.strip():
            if self._provider_id(carrier, raw or {}):
                return None
            if self._delivery_option_providers((raw or {}).get("delivery_option_id")) is None:
                return None   # TikTok cannot say now: not a 400; the writeback resolves it, with retries
        return self.shipment_carriers(raw)

    def _delivery_option_providers(self, option: str | None) -> list[dict] | None:
        """TikTok's shipping providers for a delivery option ([] when the order has none; None when TikTok cannot
        be asked now)."""
        if not option:
            return []
        key = token_cache_key("tiktok-providers", self.base_url, str(self.config.get("shopCipher", "")), option)
        cached = cache.get(key)
        if cached is not None:
            return cached
        try:
            data = self.call("GET", PROVIDERS_PATH.format(delivery_option_id=option))
        except ChannelError:
            return None
        providers = [{"id": str(p.get("id")), "name": str(p.get("name") or "")}
                     for p in data.get("shipping_providers") or [] if p.get("id")]
        cache.set(key, providers, PROVIDERS_CACHE_SECONDS)
        return providers

    def _provider_id(self, carrier: str, order: dict) -> str | None:
        carrier = carrier.strip()
        if carrier.isdigit():
            return carrier   # a shipping_provider_id given as it is
        wanted = carrier.lower().replace(" ", "")
        for name, value in (self.config.get("shippingProviderIds") or {}).items():
            if str(name).lower().replace(" ", "") == wanted:
                return str(value)
        for provider in self._delivery_option_providers(order.get("delivery_option_id")) or []:
            if provider["name"].lower().replace(" ", "") == wanted:
                return provider["id"]
        return None

    def resolve_shipping_provider(self, carrier: str | None, order: dict) -> str:
        """TikTok's shipping_provider_id for the carrier staff named: an id as given, the config map
        (`shippingProviderIds` {name: id}), or a name among the delivery option's providers."""
        provider_id = self._provider_id(carrier or "", order) if (carrier or "").strip() else None
        if provider_id:
            return provider_id
        accepted = ", ".join(self.shipment_carriers(order)) or "none (set config.shippingProviderIds)"
        raise PermanentChannelError(f"no TikTok shipping_provider_id for carrier {carrier!r}; accepted carriers: "
                                    f"{accepted}")
    # TikTok takes packages shipped (one or several) once the order awaits shipment; it moves every other status
    # itself (delivery from the carrier's scans, cancellations through its own flow).
    writable_statuses = {
        "processing": ("shipped",),
        "shipped": ("shipped",),
    }
    done_elsewhere = {"cancelled": "Cancel it in TikTok Seller Center."}

    # --- writing ---------------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING):
            return WritebackResult(request_summary=f"TikTok has no call for {request.status}; nothing sent")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(f"TikTok takes no \"{request.status}\" status through its API; "
                                        "do it in TikTok Seller Center")
        order = request.raw or {}
        if request.parcel or not self.package_ids(order) or not order.get("line_items"):
            # A parcel needs the order as it is now (which line items earlier parcels already shipped).
            order = self.fetch_order(request.channel_order_id)
        if platform_ships(order):
            return self._read_platform_tracking(request, order)
        if not request.tracking_number:
            raise PermanentChannelError("shipping a TikTok package needs a tracking number")
        provider_id = self.resolve_shipping_provider(request.carrier, order)
        shipment = {"tracking_number": request.tracking_number, "shipping_provider_id": provider_id}
        packages, summaries = [], []
        for package_id, item_ids, whole, shipped in self._shipment_plan(request, order):
            if package_id and (shipped or whole):
                package, summary = self._ship_package(package_id, shipment, shipped)
            else:
                package, summary = self._mark_shipped(request, item_ids, shipment)
            packages.append(package)
            summaries.append(summary)
        return WritebackResult(channel_reference=",".join(p for p in packages if p) or None, response_code=200,
                               request_summary="; ".join(summaries) + f" (tracking {request.tracking_number}, "
                                                                      f"shipping_provider_id {provider_id})")

    def _shipment_plan(self, request: WritebackRequest, order: dict) -> list[tuple[str | None, list[str], bool, bool]]:
        """(package id or None, line item ids, whether they are that whole package, whether already shipped) for
        each package this writeback touches. A parcel takes its own units (one TikTok line item per unit) that are
        not shipped yet; the whole order, every unit not shipped yet; units already shipped only when nothing else
        is left (a corrected tracking number)."""
        items = {str(item["id"]): item for item in _live_items(order)}
        if request.parcel:
            wanted: list[str] = []
            for line in request.lines:
                ids = [i for i in (line.channel_line_id or "").split(",") if i in items]
                ids.sort(key=lambda i: _item_shipped(items[i]))   # units not shipped yet first
                wanted.extend(ids[:max(line.quantity, 0)])
        else:
            wanted = [i for i, item in items.items() if not _item_shipped(item)] or list(items)
        if not wanted:
            raise PermanentChannelError(f"TikTok order {request.channel_order_id} has nothing left to ship")
        package_of = _package_of(order)
        plan: dict[tuple[str | None, bool], list[str]] = {}
        for item_id in wanted:
            plan.setdefault((package_of.get(item_id), _item_shipped(items[item_id])), []).append(item_id)
        result = []
        for (package_id, shipped), item_ids in plan.items():
            members = [i for i, p in package_of.items() if package_id and p == package_id]
            result.append((package_id, item_ids, bool(package_id) and set(item_ids) == set(members), shipped))
        return result

    def _ship_package(self, package_id: str, shipment: dict, shipped: bool) -> tuple[str, str]:
        if not shipped:
            try:
                self.call("POST", SHIP_PATH.format(package_id=package_id), body={"self_shipment": shipment})
                return package_id, f"ship package {package_id}"
            except PermanentChannelError as exc:
                if getattr(exc, "channel_code", None) not in ALREADY_SHIPPED_CODES:
                    raise
        # Already shipped (a corrected tracking number): update its shipping info instead.
        self.call("POST", UPDATE_SHIPPING_PATH.format(package_id=package_id), body=shipment)
        return package_id, f"update shipping info of package {package_id}"

    def _mark_shipped(self, request: WritebackRequest, item_ids: list[str], shipment: dict) -> tuple[str, str]:
        """Line items no package holds yet, or part of a package (a parcel of its own): Mark Package As Shipped
        makes them a package with this tracking (US/UK/EU/JP sellers shipping themselves)."""
        data = self.call("POST", MARK_SHIPPED_PATH.format(order_id=request.channel_order_id),
                         body={"order_line_item_ids": item_ids, **shipment})
        package_id = str(data.get("package_id") or "")
        return package_id, f"mark {len(item_ids)} line item(s) shipped as package {package_id}"

    def _read_platform_tracking(self, request: WritebackRequest, order: dict) -> WritebackResult:
        """TikTok ships this order: nothing is uploaded; each package's tracking is read from Get Package Detail
        and given back, so the hub shows TikTok's tracking rather than one typed for it."""
        found = []
        for package_id in self.package_ids(order):
            detail = self.call("GET", PACKAGE_PATH.format(package_id=package_id)) or {}
            number = str(detail.get("tracking_number") or "").strip()
            if number:
                found.append((package_id, number, str(detail.get("shipping_provider_name") or "")))
        described = "; ".join(f"package {p}: {n}" + (f" ({c})" if c else "") for p, n, c in found)
        return WritebackResult(
            channel_reference=",".join(self.package_ids(order)) or None, response_code=200,
            tracking_number=found[0][1] if found else None, carrier=found[0][2] or None if found else None,
            request_summary="nothing sent: TikTok ships this order (shipping_type TIKTOK) and issues its label; "
                            + (f"its tracking: {described}" if found else "no tracking issued yet"))
