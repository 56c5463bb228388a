from django.test import RequestFactory

from agora.core.http import client_ip


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.AGORA_TRUSTED_PROXIES = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"


def test_the_address_seen_by_our_outermost_proxy_is_used(settings):
    settings.AGORA_TRUSTED_PROXIES = 1
    # The client forged the first entry; our proxy appended the address it really saw.
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


def test_too_few_hops_falls_back_to_remote_addr(settings):
    settings.AGORA_TRUSTED_PROXIES = 2
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "10.0.0.5"
