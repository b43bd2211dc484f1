import pytest

from core.outbound import OutboundURLRefused, check_outbound_url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8765/shopify",
    "http://localhost/admin",
    "http://10.1.2.3/",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[::1]:8000/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "ftp://8.8.8.8/",
    "file:///etc/passwd",
])
def test_private_loopback_link_local_and_non_http_targets_are_refused(settings, url):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    with pytest.raises(OutboundURLRefused):
        check_outbound_url(url)


def test_public_address_is_allowed(settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    check_outbound_url("https://8.8.8.8/webhooks")


def test_the_setting_allows_local_targets_for_tests_and_the_simulator(settings):
    settings.ALLOW_PRIVATE_OUTBOUND = True
    check_outbound_url("http://127.0.0.1:8765/shopify")
    with pytest.raises(OutboundURLRefused):
        check_outbound_url("gopher://127.0.0.1/")
