"""customer_pages.presenters: the pure parts (no database)."""

from customer_pages.presenters import masked_address
from orders.carrier_formats import carrier_label as carrier_name


def test_masked_address_reads_storefront_and_channel_shapes():
    storefront = {"name": "Ada Lovelace", "line1": "12 Crescent Road", "city": "London", "postalCode": "NW1 4RS",
                  "country": "GB"}
    assert masked_address(storefront) == ["Ada L.", "12 ••••••••", "London NW1••••", "GB"]
    shopify = {"first_name": "Bob", "last_name": "Smith", "address1": "9 Elm St", "city": "Austin",
               "province": "TX", "zip": "78701", "country_code": "US"}
    assert masked_address(shopify) == ["Bob S.", "9 E•••••", "Austin, TX 78•••", "US"]


def test_masked_address_never_shows_more_than_it_has():
    assert masked_address({}) == [] and masked_address(None) == []
    assert masked_address({"line1": "A"}) == ["A•••"]  # at least three dots: the length is not given away
    assert masked_address({"city": "Paris"}) == ["Paris"]


def test_carrier_names_read_as_customers_know_them():
    assert (carrier_name("ups"), carrier_name("fedex"), carrier_name("acme-freight")) == ("UPS", "FedEx",
                                                                                          "Acme-Freight")


def test_a_pale_brand_colour_is_darkened_until_links_and_buttons_are_readable():
    from customer_pages.presenters import PAGE_BACKGROUND, contrast, readable_accent

    for accent in ("#ffcc00", "#1f6feb", "#ffffff", "#7fdbff"):
        color = readable_accent(accent)
        assert contrast(color, PAGE_BACKGROUND) >= 4.5 and contrast(color, "#ffffff") >= 4.5, accent
    assert readable_accent("#0b3d91") == "#0b3d91"  # already readable: kept as the merchant chose it
    assert readable_accent("javascript:") == readable_accent("#1f6feb")  # not a colour: the default
