"""The address policy every outbound request is checked against (``core.outbound.guard``): public addresses and
what an allow-list names; cloud metadata and link-local addresses never, whatever the list says."""

from __future__ import annotations

import ipaddress

import pytest

from core.outbound.guard import AddressPolicy


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.5", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
        ("2002:a9fe:a9fe::1", "cloud metadata"),  # 6to4 of 169.254.169.254
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("100.64.1.1", "non-public"),
        ("0.0.0.0", "reserved"),
    ],
)
def test_policy_names_what_kind_of_address_is_refused(address: str, kind: str) -> None:
    reason = AddressPolicy([]).refusal("host", ipaddress.ip_address(address))
    assert reason is not None and kind in reason


def test_policy_allows_public_and_allow_listed_addresses() -> None:
    policy = AddressPolicy(["127.0.0.1", "10.20.0.0/16", "intranet.example"])
    assert policy.refusal("example.com", ipaddress.ip_address("93.184.216.34")) is None
    assert policy.refusal("x", ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal("x", ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal("intranet.example", ipaddress.ip_address("192.168.1.1")) is None
    assert policy.refusal("INTRANET.example.", ipaddress.ip_address("192.168.1.1")) is None


def test_an_allow_list_allows_exactly_what_it_names() -> None:
    policy = AddressPolicy(["127.0.0.1", "10.20.0.0/16", "intranet.example"])
    assert policy.refusal("x", ipaddress.ip_address("127.0.0.2")) is not None  # another loopback address
    assert policy.refusal("x", ipaddress.ip_address("10.21.3.4")) is not None
    assert policy.refusal("other.example", ipaddress.ip_address("192.168.1.1")) is not None
    assert policy.refusal("www.intranet.example", ipaddress.ip_address("192.168.1.1")) is not None


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "169.254.1.1", "fe80::1"])
def test_metadata_and_link_local_are_never_allowed_whatever_the_list_says(address: str) -> None:
    policy = AddressPolicy(["169.254.0.0/16", "fe80::/10", "fd00::/8", "meta.example", address])
    assert policy.refusal("meta.example", ipaddress.ip_address(address)) is not None
    assert policy.refusal(address, ipaddress.ip_address(address)) is not None


def test_a_refusal_names_the_setting_that_would_allow_the_address() -> None:
    reason = AddressPolicy([], "notifications.allow_hosts").refusal("x", ipaddress.ip_address("192.168.1.9"))
    assert reason == "a private address (add it to notifications.allow_hosts to allow it)"


@pytest.mark.parametrize("entry", ["not a/b", "", "host:8080", "10.0.0.0/33"])
def test_a_bad_allow_list_entry_is_refused_with_its_value(entry: str) -> None:
    with pytest.raises(ValueError, match=r"allow_hosts: '.*' is neither"):
        AddressPolicy([entry])
