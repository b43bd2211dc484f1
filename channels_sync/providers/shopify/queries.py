"""The GraphQL Admin API documents the Shopify provider sends (one place, so the simulator's tests and the provider
agree on what is asked). Pure text: imports nothing.

Field names follow the Admin GraphQL reference (shopify.dev/docs/api/admin-graphql/2026-10): Order, LineItem,
FulfillmentOrder, Fulfillment, `fulfillmentCreate`, `fulfillmentTrackingInfoUpdate`, `fulfillmentEventCreate`,
`orderCancel`, `webhookSubscriptions` / `webhookSubscriptionCreate` / `webhookSubscriptionDelete`.
"""

MONEY = "shopMoney { amount currencyCode }"

ADDRESS = "name firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone"

# Requested cost (shopify.dev/docs/api/usage/limits, "Calculated query cost"): objects 1, scalars 0, a connection
# 2 + first x its node's cost; no single query may request over 1000. An order node below requests ~169 (30 line
# items at 4 each), so a page of 5 orders requests ~850. An order with more line items gets the rest through
# ORDER_LINE_ITEMS (100 a call).
LINE_ITEMS_FIRST = 30
LINE_ITEM_FIELDS = f"id name title sku quantity currentQuantity requiresShipping variant {{ id }} " \
                   f"originalUnitPriceSet {{ {MONEY} }}"

ORDER_FIELDS = f"""
  id legacyResourceId name createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  displayFinancialStatus displayFulfillmentStatus email phone currencyCode presentmentCurrencyCode
  test tags note taxesIncluded sourceName confirmationNumber
  currentSubtotalPriceSet {{ {MONEY} }}
  currentTotalDiscountsSet {{ {MONEY} }}
  currentShippingPriceSet {{ {MONEY} }}
  currentTotalTaxSet {{ {MONEY} }}
  currentTotalPriceSet {{ {MONEY} }}
  subtotalPriceSet {{ {MONEY} }}
  totalDiscountsSet {{ {MONEY} }}
  totalShippingPriceSet {{ {MONEY} }}
  totalTaxSet {{ {MONEY} }}
  totalPriceSet {{ {MONEY} }}
  totalRefundedSet {{ {MONEY} }}
  customer {{ id email firstName lastName phone }}
  shippingAddress {{ {ADDRESS} }}
  billingAddress {{ {ADDRESS} }}
  shippingLines(first: 3) {{ nodes {{ title code discountedPriceSet {{ {MONEY} }} }} }}
  lineItems(first: {LINE_ITEMS_FIRST}) {{ nodes {{ {LINE_ITEM_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }}
  fulfillments(first: 5) {{
    id status displayStatus createdAt updatedAt
    trackingInfo(first: 1) {{ company number url }}
  }}
"""

ORDERS = f"""
query OrdersUpdatedInWindow($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {ORDER_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ORDER = f"""
query OrderById($id: ID!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""

ORDER_LINE_ITEMS = f"""
query OrderLineItems($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: 100, after: $after) {{ nodes {{ {LINE_ITEM_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }}
  }}
}}
"""

SHOP = "query ShopIdentity { shop { myshopifyDomain } }"

FULFILLMENT_ORDERS = """
query FulfillmentOrdersOfOrder($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes {
        id status requestStatus
        supportedActions { action }
        assignedLocation { name location { id isFulfillmentService fulfillmentService { handle type } } }
        lineItems(first: 50) { nodes { id remainingQuantity totalQuantity lineItem { id } } }
      }
    }
    fulfillments(first: 20) { id status createdAt trackingInfo(first: 1) { company number url } }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
"""

TRACKING_UPDATE = """
mutation FulfillmentTrackingInfoUpdate($fulfillmentId: ID!, $trackingInfoInput: FulfillmentTrackingInput!,
                                       $notifyCustomer: Boolean) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $fulfillmentId, trackingInfoInput: $trackingInfoInput,
                                notifyCustomer: $notifyCustomer) {
    fulfillment { id trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
"""

FULFILLMENT_EVENT_CREATE = """
mutation FulfillmentEventCreate($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent { id status }
    userErrors { field message }
  }
}
"""

ORDER_CANCEL = """
mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!,
                     $notifyCustomer: Boolean) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock,
              notifyCustomer: $notifyCustomer) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

WEBHOOK_SUBSCRIPTION_DELETE = """
mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""
