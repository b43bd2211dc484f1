def test_openapi_schema_documents_every_storefront_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = [
        "/storefront/checkout-cart", "/storefront/orders", "/storefront/order/{order_number}",
        "/storefront/order/update/{order_number}", "/storefront/order/send-welcome/{order_number}",
        "/storefront/order/remove/{author}/{order_number}", "/storefront/order/remove/{author}",
        "/storefront/inventory", "/storefront/inventory/{sku}",
        "/storefront/order/email/{email}/{order_number}", "/storefront/order/get/{author}/{order_number}",
        "/storefront/orders/get/{author}",
        *[f"/storefront/order/{verb}/{{order_number}}" for verb in
          ("process", "ship", "deliver", "complete", "hold", "release", "cancel", "refund")],
    ]
    assert [p for p in expected if p not in paths] == []
    ship = paths["/storefront/order/ship/{order_number}"]["post"]
    assert "409" in ship["responses"] and ship["requestBody"]
