"""The API's attribute declarations and the service's listings describe the same resources."""

from __future__ import annotations

import pytest

from stackling.network import policy
from stackling.network.api.attributes import Spec
from stackling.network.api.specs.floating_ips import FLOATINGIP
from stackling.network.api.specs.networks import NETWORK
from stackling.network.api.specs.ports import PORT
from stackling.network.api.specs.routers import ROUTER
from stackling.network.api.specs.security_groups import SECURITY_GROUP, SECURITY_GROUP_RULE
from stackling.network.api.specs.subnets import SUBNET, SUBNETPOOL
from stackling.network.service import (
    floating_ips,
    networks,
    ports,
    routers,
    security_groups,
    subnetpools,
    subnets,
)
from stackling.network.service.listing import Listing

PAIRS = [
    (NETWORK, networks.LISTING),
    (SUBNET, subnets.LISTING),
    (SUBNETPOOL, subnetpools.LISTING),
    (PORT, ports.LISTING),
    (SECURITY_GROUP, security_groups.GROUPS),
    (SECURITY_GROUP_RULE, security_groups.RULES),
    (ROUTER, routers.LISTING),
    (FLOATINGIP, floating_ips.LISTING),
]


@pytest.mark.parametrize(("spec", "listing"), PAIRS, ids=[s.collection for s, _ in PAIRS])
def test_every_filter_and_sort_key_has_sql_behind_it(spec: Spec, listing: Listing) -> None:
    assert set(spec.filters) <= listing.filterable()
    assert spec.sort_keys <= set(listing.columns)
    # Every listing knows its own resource's 404.
    assert listing.not_found("x").status == 404


def test_attribute_rules_name_real_attributes() -> None:
    specs = {s.member: s for s, _ in PAIRS}
    for rule in policy.RULES:
        action, _, attribute = rule.partition(":")
        if not attribute:
            continue
        member = action.split("_", 1)[1]
        assert member in specs, rule
        # A rule on part of an attribute names it first (external_gateway_info:enable_snat).
        known = specs[member].by_name
        assert attribute in known or attribute.split(":")[0] in known, rule
