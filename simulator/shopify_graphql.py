"""Shopify's GraphQL Admin API and OAuth endpoints, simulated over the same catalogue as the REST routes.

What it answers like Shopify (shopify.dev: "GraphQL Admin API", "API versioning", "rate limits", "client
credentials grant", "authorization code grant"):

- POST /admin/api/{version}/graphql.json for the documents the provider sends (channels_sync/providers/shopify/
  queries.py): orders (cursor paging, `query` search syntax, sortKey), order, fulfillment orders, `fulfillmentCreate`,
  `fulfillmentTrackingInfoUpdate`, `fulfillmentEventCreate`, `orderCancel`, webhook subscriptions, shop.
  An unknown operation is a GraphQL error, as a field that does not exist is.
- Versions: a supported one is served as asked; an older well-formed one falls forward to the oldest supported
  version (the `X-Shopify-API-Version` header says which); anything else is 404 Not Found.
- Cost: a bucket of 2000 points restoring 100 a second; a query requesting over 1000 is refused
  (MAX_COST_EXCEEDED); one requesting more than is left is THROTTLED (HTTP 200, `extensions.cost.throttleStatus`).
  `POST _sim/throttle {"count": n}` empties the bucket before each of the next n GraphQL calls (THROTTLED).
- Tokens: the demo's legacy token, tokens from the client-credentials grant (expire after 86399 s) and from the
  authorization-code install (with `expiring=1`: an hour, with a refresh token rotated by grant_type=refresh_token);
  an unknown or expired token is a 401 with Shopify's message.
- `on_orders_page(page_number)`: a hook run after each orders page is served (tests change orders mid-poll).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode

from simulator.base import SimRequest, SimResponse, error_response, json_response, route

SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")   # as of December 2026
CLIENT_ID = "sim-shopify-client-id"
CLIENT_SECRET = "sim-shopify-client-secret"
SCOPES = "read_orders,write_orders,read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders"
TOKEN_TTL_SECONDS = 86399
EXPIRING_TOKEN_TTL_SECONDS = 3600        # expiring offline tokens (authorization code with expiring=1)
REFRESH_TOKEN_TTL_SECONDS = 90 * 86400
BUCKET_MAX = 2000.0
RESTORE_RATE = 100.0
MAX_QUERY_COST = 1000
ORDER_SORT_KEYS = {"CREATED_AT", "CUSTOMER_NAME", "FINANCIAL_STATUS", "FULFILLMENT_STATUS", "ID", "ORDER_NUMBER",
                   "PO_NUMBER", "PROCESSED_AT", "RELEVANCE", "TOTAL_ITEMS_QUANTITY", "TOTAL_PRICE", "UPDATED_AT",
                   "DESTINATION"}
SEARCH_FIELDS = {"updated_at", "created_at", "processed_at", "status", "financial_status", "fulfillment_status", "id"}
WEBHOOK_TOPICS = {"ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED", "ORDERS_FULFILLED",
                  "ORDERS_PARTIALLY_FULFILLED", "ORDERS_DELETE", "APP_UNINSTALLED"}
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
TERM = re.compile(r"(\w+):(>=|<=|>|<)?('([^']*)'|\"([^\"]*)\"|\S+)")


def gid(kind: str, value) -> str:
    return f"gid://shopify/{kind}/{value}"


def gid_id(value) -> str:
    return str(value or "").rsplit("/", 1)[-1]


def _encode(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode(token: str):
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _error(message: str, code: str | None = None, **extra) -> dict:
    error: dict = {"message": message}
    if code:
        error["extensions"] = {"code": code, **extra}
    return error


class GraphQLMixin:
    """Mixed into simulator.shopify.Simulator (which keeps the catalogue REST-shaped)."""

    on_orders_page: Callable[[int], None] | None = None

    def init_graphql(self) -> None:
        self.issued_tokens: dict[str, datetime | None] = {}     # token -> expiry (None: never)
        self.oauth_codes: dict[str, str] = {}                   # authorization code -> shop
        self.refresh_tokens: dict[str, str] = {}                # refresh token -> the access token it came with
        self.cost_available = BUCKET_MAX
        self.cost_at: float | None = None
        self.graphql_calls: list[dict] = []                     # {"operation", "variables", "version"}

    # --- tokens --------------------------------------------------------------------------------
    def token_valid(self, token: str | None) -> bool:
        if not token or token not in self.issued_tokens:
            return False
        expiry = self.issued_tokens[token]
        return expiry is None or self.now() < expiry

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.issued_tokens:
                self.issued_tokens[token] = self.now() - timedelta(seconds=1)

    def _params(self, request: SimRequest) -> dict[str, str]:
        if "json" in (request.header("Content-Type") or ""):
            try:
                return {key: str(value) for key, value in (request.json() or {}).items()}
            except (ValueError, AttributeError):
                return {}
        return {key: values[0] for key, values in parse_qs(request.body.decode(errors="replace")).items()}

    @route("POST", r"^/admin/oauth/access_token$")
    def oauth_access_token(self, request: SimRequest) -> SimResponse:
        params = self._params(request)
        if params.get("client_id") != CLIENT_ID or params.get("client_secret") != CLIENT_SECRET:
            return json_response({"error": "invalid_client",
                                  "error_description": "Client authentication failed due to unknown client, no "
                                                       "client authentication included, or unsupported "
                                                       "authentication method."}, 400)
        token = "shpat_" + uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
        with self.lock:
            if params.get("grant_type") == "client_credentials":
                self.issued_tokens[token] = self.now() + timedelta(seconds=TOKEN_TTL_SECONDS)
                return json_response({"access_token": token, "scope": SCOPES, "expires_in": TOKEN_TTL_SECONDS})
            if params.get("code"):
                if self.oauth_codes.pop(params["code"], None) is None:
                    return json_response({"error": "invalid_request",
                                          "error_description": "The authorization code was not found or was "
                                                               "already used"}, 400)
                if params.get("expiring") != "1":
                    self.issued_tokens[token] = None
                    return json_response({"access_token": token, "scope": SCOPES})
                return json_response(self._expiring_pair(token))
            if params.get("grant_type") == "refresh_token":
                if self.refresh_tokens.pop(params.get("refresh_token") or "", None) is None:
                    return json_response({"error": "invalid_grant",
                                          "error_description": "The refresh token is invalid or expired"}, 400)
                return json_response(self._expiring_pair(token))
        return json_response({"error": "unsupported_grant_type"}, 400)

    def _expiring_pair(self, token: str) -> dict:
        """An expiring offline token (an hour) and its refresh token (90 days), rotated on each refresh."""
        refresh = "shprt_" + uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
        self.issued_tokens[token] = self.now() + timedelta(seconds=EXPIRING_TOKEN_TTL_SECONDS)
        self.refresh_tokens[refresh] = token
        return {"access_token": token, "expires_in": EXPIRING_TOKEN_TTL_SECONDS, "refresh_token": refresh,
                "refresh_token_expires_in": REFRESH_TOKEN_TTL_SECONDS, "scope": SCOPES}

    @route("GET", r"^/admin/oauth/authorize$")
    def oauth_authorize(self, request: SimRequest) -> SimResponse:
        """The merchant approves at once: back to redirect_uri with a code, signed as Shopify signs it."""
        if request.arg("client_id") != CLIENT_ID or not request.arg("redirect_uri"):
            return error_response(400, "Invalid client_id or redirect_uri")
        code = uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
        shop = self.demo_channel().config["shopDomain"]
        with self.lock:
            self.oauth_codes[code] = shop
        params = {"code": code, "host": base64.b64encode(f"{shop}/admin".encode()).decode().rstrip("="),
                  "shop": shop, "state": request.arg("state") or "",
                  "timestamp": str(int(self.now().timestamp()))}
        params["hmac"] = oauth_hmac(params, CLIENT_SECRET)
        return SimResponse(302, b"", [("Location", f"{request.arg('redirect_uri')}?{urlencode(params)}")])

    # --- the endpoint ---------------------------------------------------------------------------
    @staticmethod
    def served_version(version: str) -> str | None:
        if version in SUPPORTED_VERSIONS or version == "unstable":
            return version
        if re.fullmatch(r"\d{4}-(01|04|07|10)", version) and version < SUPPORTED_VERSIONS[0]:
            return SUPPORTED_VERSIONS[0]
        return None

    def _restore(self) -> None:
        now = self.clock()
        if self.cost_at is not None:
            self.cost_available = min(BUCKET_MAX, self.cost_available + (now - self.cost_at) * RESTORE_RATE)
        self.cost_at = now

    def _cost(self, requested: float, actual: float | None) -> dict:
        return {"requestedQueryCost": requested, "actualQueryCost": actual,
                "throttleStatus": {"maximumAvailable": BUCKET_MAX, "currentlyAvailable": round(self.cost_available),
                                   "restoreRate": RESTORE_RATE}}

    @route("POST", r"^/admin/api/(?P<version>[^/]+)/graphql\.json$")
    def graphql(self, request: SimRequest, version: str) -> SimResponse:
        served = self.served_version(version)
        if served is None:
            return error_response(404, "Not Found")
        headers = [("X-Shopify-API-Version", served)]
        try:
            body = request.json() or {}
        except ValueError:
            return json_response({"errors": "Invalid JSON in request body"}, 400, headers)
        query, variables = body.get("query"), body.get("variables") or {}
        if not isinstance(query, str) or not query.strip():
            return json_response({"errors": {"query": "Required parameter missing or invalid"}}, 400, headers)
        operation = self._operation(query)
        if operation is None:
            return json_response({"errors": [_error("Field doesn't exist on the queried type", "undefinedField")]},
                                 200, headers)
        requested = self._requested_cost(operation, query, variables)
        if requested > MAX_QUERY_COST:
            return json_response({"errors": [_error(
                f"Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_QUERY_COST)]}, 200, headers)
        with self.lock:
            self._restore()
            if self.cost_available < requested:
                return json_response({"errors": [_error("Throttled", "THROTTLED",
                                                        documentation="https://shopify.dev/api/usage/rate-limits")],
                                      "extensions": {"cost": self._cost(requested, None)}}, 200, headers)
            self.graphql_calls.append({"operation": operation, "variables": variables, "version": version})
        data, errors, actual, extra = getattr(self, f"_gql_{operation}")(request, query, variables, served)
        with self.lock:
            self.cost_available -= min(actual, requested)
            answer: dict = {"data": data} if data is not None else {}
            if errors:
                answer["errors"] = errors
            answer["extensions"] = {"cost": self._cost(requested, actual), **extra}
        response = json_response(answer, 200, headers)
        if operation == "orders" and self.on_orders_page is not None:
            self.on_orders_page(len([c for c in self.graphql_calls if c["operation"] == "orders"]))
        return response

    @staticmethod
    def _operation(query: str) -> str | None:
        for name in ("webhookSubscriptionCreate", "webhookSubscriptionDelete", "fulfillmentCreate",
                     "fulfillmentTrackingInfoUpdate", "fulfillmentEventCreate", "orderCancel"):
            if re.search(rf"\b{name}\s*\(", query):
                return name
        if re.search(r"\bwebhookSubscriptions\s*\(", query):
            return "webhookSubscriptions"
        if re.search(r"\bfulfillmentOrders\s*\(", query):
            return "fulfillmentOrders"
        if re.search(r"\borders\s*\(", query):
            return "orders"
        if re.search(r"\border\s*\(", query):
            return "order"
        if re.search(r"\bshop\s*\{", query):
            return "shop"
        return None

    @staticmethod
    def _nested_first(query: str, field: str, default: int) -> int:
        found = re.search(rf"\b{field}\s*\(\s*first:\s*(\d+)", query)
        return int(found.group(1)) if found else default

    def _requested_cost(self, operation: str, query: str, variables: dict) -> int:
        lines = self._nested_first(query, "lineItems", 0)
        per_order = 38 + 4 * lines
        if operation == "orders":
            try:
                first = int(variables.get("first") or self._nested_first(query, "orders", 0))
            except (TypeError, ValueError):
                first = 0
            return 2 + first * per_order
        if operation == "order":
            return 1 + per_order
        if operation == "fulfillmentOrders":
            return 2 + self._nested_first(query, "fulfillmentOrders", 1) * (8 + 2 * lines) + 40
        if operation in ("shop",):
            return 1
        if operation == "webhookSubscriptions":
            return 2 + int(variables.get("first") or 1)
        return 10

    # --- shaping --------------------------------------------------------------------------------
    @staticmethod
    def _money(amount, currency: str) -> dict:
        return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}

    def gql_order(self, order: dict, line_first: int, line_after: int = 0) -> dict:
        currency = order["currency"]
        money = lambda amount: self._money(amount, currency)  # noqa: E731
        shop_money = lambda key: (order.get(key) or {}).get("shop_money", {}).get("amount", "0.00")  # noqa: E731
        items = order["line_items"]
        page = items[line_after:line_after + line_first] if line_first else []
        refunded = sum(float(t.get("amount") or 0) for r in order.get("refunds") or []
                       for t in r.get("transactions") or [])
        address = lambda a: None if not a else {  # noqa: E731
            "name": a.get("name"), "firstName": a.get("first_name"), "lastName": a.get("last_name"),
            "company": a.get("company"), "address1": a.get("address1"), "address2": a.get("address2"),
            "city": a.get("city"), "province": a.get("province"), "provinceCode": a.get("province_code"),
            "zip": a.get("zip"), "country": a.get("country"), "countryCodeV2": a.get("country_code"),
            "phone": a.get("phone")}
        customer = order.get("customer")
        return {
            "id": gid("Order", order["id"]), "legacyResourceId": str(order["id"]), "name": order["name"],
            "createdAt": order["created_at"], "updatedAt": order["updated_at"], "processedAt": order["processed_at"],
            "cancelledAt": order["cancelled_at"],
            "cancelReason": (order["cancel_reason"] or "").upper() or None, "closedAt": order["closed_at"],
            "displayFinancialStatus": (order["financial_status"] or "").upper() or None,
            "displayFulfillmentStatus": {"partial": "PARTIALLY_FULFILLED", "fulfilled": "FULFILLED"}.get(
                order["fulfillment_status"], "UNFULFILLED"),
            "email": order.get("email") or None, "phone": order.get("phone"), "currencyCode": currency,
            "presentmentCurrencyCode": order.get("presentment_currency") or currency, "test": order.get("test"),
            "tags": [tag.strip() for tag in (order.get("tags") or "").split(",") if tag.strip()],
            "note": order.get("note"), "taxesIncluded": order.get("taxes_included"),
            "sourceName": order.get("source_name"), "confirmationNumber": order.get("confirmation_number"),
            "currentSubtotalPriceSet": money(order["current_subtotal_price"]),
            "currentTotalDiscountsSet": money(order["current_total_discounts"]),
            "currentShippingPriceSet": money(shop_money("current_shipping_price_set")
                                             if order.get("current_shipping_price_set")
                                             else shop_money("total_shipping_price_set")),
            "currentTotalTaxSet": money(order["current_total_tax"]),
            "currentTotalPriceSet": money(order["current_total_price"]),
            "subtotalPriceSet": money(order["subtotal_price"]), "totalDiscountsSet": money(order["total_discounts"]),
            "totalShippingPriceSet": money(shop_money("total_shipping_price_set")),
            "totalTaxSet": money(order["total_tax"]), "totalPriceSet": money(order["total_price"]),
            "totalRefundedSet": money(f"{refunded:.2f}"),
            "customer": None if not customer else {
                "id": gid("Customer", customer["id"]), "email": customer.get("email"),
                "firstName": customer.get("first_name"), "lastName": customer.get("last_name"),
                "phone": customer.get("phone")},
            "shippingAddress": address(order.get("shipping_address")),
            "billingAddress": address(order.get("billing_address")),
            "shippingLines": {"nodes": [{"title": line.get("title"), "code": line.get("code"),
                                         "discountedPriceSet": money(line.get("discounted_price") or line["price"])}
                                        for line in order.get("shipping_lines") or []][:3]},
            "lineItems": {
                "nodes": [{"id": gid("LineItem", item["id"]), "name": item["name"], "title": item["title"],
                           "sku": item.get("sku"), "quantity": item["quantity"],
                           "currentQuantity": item.get("current_quantity", item["quantity"]),
                           "requiresShipping": item.get("requires_shipping"),
                           "variant": {"id": gid("ProductVariant", item["variant_id"])} if item.get("variant_id")
                           else None,
                           "originalUnitPriceSet": money(item["price"])} for item in page],
                "pageInfo": {"hasNextPage": line_after + line_first < len(items),
                             "endCursor": _encode(line_after + len(page)) if page else None}},
            "fulfillments": [{
                "id": gid("Fulfillment", f["id"]), "status": (f.get("status") or "").upper(),
                "displayStatus": "DELIVERED" if f.get("shipment_status") == "delivered" else "FULFILLED",
                "createdAt": f.get("created_at"), "updatedAt": f.get("updated_at"),
                "trackingInfo": [{"company": f.get("tracking_company"), "number": number,
                                  "url": (f.get("tracking_urls") or [f.get("tracking_url")])[0]}
                                 for number in (f.get("tracking_numbers") or [])][:1]}
                for f in order.get("fulfillments") or []],
        }

    @staticmethod
    def _actual_cost(node: dict) -> int:
        return 30 + 4 * len(node["lineItems"]["nodes"]) + 2 * len(node["fulfillments"])

    # --- reads ----------------------------------------------------------------------------------
    def _search(self, search: str | None) -> tuple[list, list[dict]]:
        terms, warnings = [], []
        for match in TERM.finditer(search or ""):
            field, op, raw, single, double = match.groups()
            if field.upper() in ("AND", "OR", "NOT"):
                continue
            value = single if single is not None else double if double is not None else raw
            if field not in SEARCH_FIELDS:
                warnings.append({"field": field, "message": "Invalid search field for this query."})
                continue
            terms.append((field, op or "=", value))
        return terms, warnings

    @staticmethod
    def _term_matches(order: dict, term: tuple) -> bool:
        field, op, value = term
        if field in ("updated_at", "created_at", "processed_at"):
            actual, bound = _parse_ts(order[field]), _parse_ts(value)
            return {">=": actual >= bound, ">": actual > bound, "<=": actual <= bound, "<": actual < bound,
                    "=": actual == bound}[op]
        if field == "id":
            return str(order["id"]) == value
        if field == "status":
            return {"open": not order["closed_at"] and not order["cancelled_at"], "closed": bool(order["closed_at"]),
                    "cancelled": bool(order["cancelled_at"]), "any": True}.get(value, False)
        if field == "financial_status":
            return (order["financial_status"] or "") == value
        if field == "fulfillment_status":
            actual = order["fulfillment_status"] or "unshipped"
            return value == "any" or actual == value or (value == "shipped" and actual == "fulfilled")
        return True

    def _gql_orders(self, request, query, variables, served):
        first = variables.get("first")
        if not isinstance(first, int) or not 1 <= first <= 250:
            return None, [_error("first must be between 1 and 250" if isinstance(first, int)
                                 else "you must provide one of first or last", "argumentLiteralsIncompatible")], 1, {}
        sort_match = re.search(r"sortKey:\s*(\w+)", query)
        sort_key = sort_match.group(1) if sort_match else "ID"
        if sort_key not in ORDER_SORT_KEYS:
            return None, [_error(f"Argument 'sortKey' on Field 'orders' has an invalid value ({sort_key}). "
                                 f"Expected type 'OrderSortKeys'.", "argumentLiteralsIncompatible")], 1, {}
        terms, warnings = self._search(variables.get("query"))
        key = ((lambda o: (_parse_ts(o["updated_at"]).timestamp(), o["id"])) if sort_key == "UPDATED_AT" else
               (lambda o: (_parse_ts(o["created_at"]).timestamp(), o["id"])) if sort_key == "CREATED_AT" else
               (lambda o: (0, o["id"])))
        after = variables.get("after")
        try:
            after_key = tuple(_decode(after)) if after else None
        except ValueError:
            return None, [_error("Invalid cursor for current pagination sort.", "BAD_REQUEST")], 1, {}
        with self.lock:
            matching = sorted((o for o in self.orders.values() if all(self._term_matches(o, t) for t in terms)),
                              key=key)
            window = matching
            if after_key is not None:
                matching = [o for o in matching if key(o) > after_key]
            page = matching[:first]
            lines = self._nested_first(query, "lineItems", 0)
            nodes = json.loads(json.dumps([self.gql_order(order, lines) for order in page]))
            page_keys, more = [key(order) for order in page], len(matching) > first
            self.shift_during_paging(window)   # the base knob: orders change while a poll pages
        extra = {"search": [{"path": ["orders"], "query": variables.get("query"), "warnings": warnings}]} \
            if warnings else {}
        data = {"orders": {"nodes": nodes, "pageInfo": {
            "hasNextPage": more, "endCursor": _encode(list(page_keys[-1])) if page else None}}}
        return data, None, 2 + sum(self._actual_cost(node) for node in nodes), extra

    def _order_for(self, value) -> dict | None:
        return self.orders.get(gid_id(value)) if str(value or "").startswith("gid://shopify/Order/") else None

    def _gql_order(self, request, query, variables, served):
        with self.lock:
            order = self._order_for(variables.get("id"))
            if order is None:
                return {"order": None}, None, 1, {}
            lines = self._nested_first(query, "lineItems", 0)
            after = variables.get("after")
            node = self.gql_order(order, lines, _decode(after) if after else 0)
        return {"order": node}, None, 1 + self._actual_cost(node), {}

    def _gql_shop(self, request, query, variables, served):
        return {"shop": {"myshopifyDomain": self.demo_channel().config["shopDomain"]}}, None, 1, {}

    def gql_fulfillment_order(self, fo: dict) -> dict:
        location = fo.get("assigned_location") or {}
        third_party = bool(fo.get("third_party"))
        return {
            "id": gid("FulfillmentOrder", fo["id"]), "status": fo["status"].upper(),
            "requestStatus": fo["request_status"].upper(),
            "supportedActions": [{"action": action.upper()} for action in fo.get("supported_actions") or []],
            "assignedLocation": {"name": location.get("name"), "location": {
                "id": gid("Location", fo["assigned_location_id"]), "isFulfillmentService": third_party,
                "fulfillmentService": {"handle": "acme-3pl", "type": "THIRD_PARTY"} if third_party else None}},
            "lineItems": {"nodes": [{"id": gid("FulfillmentOrderLineItem", line["id"]),
                                     "remainingQuantity": line["fulfillable_quantity"],
                                     "totalQuantity": line["quantity"],
                                     "lineItem": {"id": gid("LineItem", line["line_item_id"])}}
                                    for line in fo["line_items"]]},
        }

    def _gql_fulfillmentOrders(self, request, query, variables, served):
        with self.lock:
            order = self._order_for(variables.get("id"))
            if order is None:
                return {"order": None}, None, 1, {}
            node = self.gql_order(order, 0)
            data = {"order": {"id": node["id"], "fulfillments": node["fulfillments"], "fulfillmentOrders": {
                "nodes": [self.gql_fulfillment_order(fo) for fo in self._fulfillment_orders_for(order)]}}}
        return data, None, 10, {}

    # --- writes ---------------------------------------------------------------------------------
    def _rest(self, request: SimRequest, path: str, body: dict) -> SimRequest:
        return SimRequest("POST", path, {}, dict(request.headers), json.dumps(body).encode(), request.base_url)

    @staticmethod
    def _user_errors(response: SimResponse, field: list[str]) -> list[dict]:
        errors = json.loads(response.body or b"{}").get("errors")
        if isinstance(errors, dict):
            messages = [message for values in errors.values() for message in values]
        else:
            messages = [str(errors)]
        return [{"field": field, "message": message} for message in messages]

    def _gql_fulfillmentCreate(self, request, query, variables, served):
        data = variables.get("fulfillment")
        groups = (data or {}).get("lineItemsByFulfillmentOrder")
        if not isinstance(data, dict) or not groups:
            return None, [_error("Variable $fulfillment of type FulfillmentInput! was provided invalid value for "
                                 "lineItemsByFulfillmentOrder (Expected value to not be null)",
                                 "INVALID_VARIABLE")], 1, {}
        with self.lock:
            for group in groups:
                fo = self._find_fulfillment_order(gid_id(group.get("fulfillmentOrderId")))
                if fo is None:
                    return ({"fulfillmentCreate": {"fulfillment": None, "userErrors": [
                        {"field": ["fulfillment"], "message": "Fulfillment order does not exist."}]}}, None, 10, {})
                if fo.get("third_party") or "create_fulfillment" not in (fo.get("supported_actions") or []):
                    return ({"fulfillmentCreate": {"fulfillment": None, "userErrors": [
                        {"field": ["fulfillment"], "message": f"Fulfillment order {fo['id']} is assigned to a "
                                                              f"fulfillment service and cannot be fulfilled by "
                                                              f"this app."}]}}, None, 10, {})
        tracking = data.get("trackingInfo") or {}
        rest = {"fulfillment": {
            "notify_customer": bool(data.get("notifyCustomer")),
            "tracking_info": {key: tracking[key] for key in ("number", "company", "url") if tracking.get(key)},
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": int(gid_id(group.get("fulfillmentOrderId"))),
                 "fulfillment_order_line_items": [{"id": int(gid_id(line.get("id"))), "quantity": line.get("quantity")}
                                                  for line in group.get("fulfillmentOrderLineItems") or []]}
                for group in groups]}}
        response = self.create_fulfillment(self._rest(request, f"/admin/api/{served}/fulfillments.json", rest), served)
        if response.status != 201:
            return {"fulfillmentCreate": {"fulfillment": None,
                                          "userErrors": self._user_errors(response, ["fulfillment"])}}, None, 10, {}
        fulfillment = json.loads(response.body)["fulfillment"]
        return {"fulfillmentCreate": {"fulfillment": {
            "id": gid("Fulfillment", fulfillment["id"]), "status": fulfillment["status"].upper(),
            "trackingInfo": [{"company": fulfillment.get("tracking_company"),
                              "number": fulfillment.get("tracking_number"),
                              "url": fulfillment.get("tracking_url")}]}, "userErrors": []}}, None, 10, {}

    def _find_fulfillment_order(self, fo_id: str) -> dict | None:
        for fos in self.fulfillment_orders.values():
            for fo in fos:
                if str(fo["id"]) == fo_id:
                    return fo
        return None

    def _gql_fulfillmentTrackingInfoUpdate(self, request, query, variables, served):
        info = variables.get("trackingInfoInput") or {}
        fulfillment_id = gid_id(variables.get("fulfillmentId"))
        rest = {"fulfillment": {"tracking_info": info, "notify_customer": bool(variables.get("notifyCustomer"))}}
        response = self.update_tracking(self._rest(
            request, f"/admin/api/{served}/fulfillments/{fulfillment_id}/update_tracking.json", rest),
            served, fulfillment_id)
        if response.status != 200:
            return {"fulfillmentTrackingInfoUpdate": {"fulfillment": None, "userErrors": [
                {"field": ["fulfillmentId"], "message": "Fulfillment does not exist."}]}}, None, 10, {}
        updated = {"id": gid("Fulfillment", fulfillment_id), "trackingInfo": [info]}
        return {"fulfillmentTrackingInfoUpdate": {"fulfillment": updated, "userErrors": []}}, None, 10, {}

    def _gql_fulfillmentEventCreate(self, request, query, variables, served):
        event = variables.get("fulfillmentEvent") or {}
        statuses = {"ATTEMPTED_DELIVERY", "CARRIER_PICKED_UP", "CONFIRMED", "DELAYED", "DELIVERED", "FAILURE",
                    "IN_TRANSIT", "LABEL_PRINTED", "LABEL_PURCHASED", "OUT_FOR_DELIVERY", "PICKED_UP",
                    "READY_FOR_PICKUP"}
        if event.get("status") not in statuses:
            return None, [_error("Variable $fulfillmentEvent of type FulfillmentEventInput! was provided invalid "
                                 "value for status", "INVALID_VARIABLE")], 1, {}
        fulfillment_id = gid_id(event.get("fulfillmentId"))
        with self.lock:
            found = self._find_fulfillment(fulfillment_id)
        if found is None:
            return {"fulfillmentEventCreate": {"fulfillmentEvent": None, "userErrors": [
                {"field": ["fulfillmentEvent", "fulfillmentId"], "message": "Fulfillment does not exist."}]}}, \
                None, 10, {}
        order_id = str(found[0]["id"])
        response = self.create_fulfillment_event(self._rest(
            request, f"/admin/api/{served}/orders/{order_id}/fulfillments/{fulfillment_id}/events.json",
            {"event": {"status": event["status"].lower()}}), served, order_id, fulfillment_id)
        created = json.loads(response.body).get("fulfillment_event") or {}
        made = {"id": gid("FulfillmentEvent", created.get("id")), "status": event["status"]}
        return {"fulfillmentEventCreate": {"fulfillmentEvent": made, "userErrors": []}}, None, 10, {}

    def _gql_orderCancel(self, request, query, variables, served):
        missing = [name for name in ("orderId", "reason", "restock") if variables.get(name) is None]
        if missing:
            return None, [_error(f"Variable ${missing[0]} was provided invalid value (Expected value to not be null)",
                                 "INVALID_VARIABLE")], 1, {}
        if variables["reason"] not in ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"):
            return None, [_error("Variable $reason of type OrderCancelReason! was provided invalid value",
                                 "INVALID_VARIABLE")], 1, {}
        order_id = gid_id(variables["orderId"])
        response = self.cancel_order(self._rest(request, f"/admin/api/{served}/orders/{order_id}/cancel.json",
                                                {"reason": variables["reason"].lower()}), served, order_id)
        if response.status != 200:
            errors = [{**error, "code": "INVALID"} for error in self._user_errors(response, ["orderId"])]
            return {"orderCancel": {"job": None, "orderCancelUserErrors": errors}}, None, 10, {}
        return {"orderCancel": {"job": {"id": gid("Job", uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                                        "done": True}, "orderCancelUserErrors": []}}, None, 10, {}

    def _gql_webhookSubscriptions(self, request, query, variables, served):
        with self.lock:
            nodes = [{"id": gid("WebhookSubscription", hook["id"]), "topic": hook["topic"].replace("/", "_").upper(),
                      "uri": hook["address"]} for hook in self.registered_webhooks]
        return {"webhookSubscriptions": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}, \
            None, 2 + len(nodes), {}

    def _gql_webhookSubscriptionCreate(self, request, query, variables, served):
        topic = variables.get("topic")
        subscription = variables.get("webhookSubscription") or {}
        if topic not in WEBHOOK_TOPICS:
            return None, [_error(f"Variable $topic of type WebhookSubscriptionTopic! was provided invalid value "
                                 f"({topic})", "INVALID_VARIABLE")], 1, {}
        if not subscription.get("uri"):
            return {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "uri"], "message": "Address can't be blank"}]}}, None, 10, {}
        rest_topic = topic.lower().replace("_", "/", 1)
        response = self.create_webhook(self._rest(request, f"/admin/api/{served}/webhooks.json", {"webhook": {
            "topic": rest_topic, "address": subscription["uri"], "format": "json"}}), served)
        if response.status != 201:
            return {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": self._user_errors(
                response, ["webhookSubscription", "uri"])}}, None, 10, {}
        hook = json.loads(response.body)["webhook"]
        return {"webhookSubscriptionCreate": {"webhookSubscription": {
            "id": gid("WebhookSubscription", hook["id"]), "topic": topic, "uri": hook["address"]},
            "userErrors": []}}, None, 10, {}

    def _gql_webhookSubscriptionDelete(self, request, query, variables, served):
        hook_id = gid_id(variables.get("id"))
        with self.lock:
            before = len(self.registered_webhooks)
            self.registered_webhooks = [h for h in self.registered_webhooks if str(h["id"]) != hook_id]
            deleted = len(self.registered_webhooks) < before
        if not deleted:
            return {"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": None, "userErrors": [
                {"field": ["id"], "message": "Webhook subscription does not exist"}]}}, None, 10, {}
        return {"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": variables["id"], "userErrors": []}}, \
            None, 10, {}


def oauth_hmac(params: dict, secret: str) -> str:
    """Shopify's OAuth callback signature: hex HMAC-SHA256 of the other query parameters, sorted, as k=v&k=v."""
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
