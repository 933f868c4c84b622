"""The in-process API the compute scheduler and agent call, on the running app's service."""

from __future__ import annotations

import httpx
import pytest

from stackling.common import errors
from stackling.placement.errors import AllocationConflict, InventoryInUse
from stackling.placement.service.core import PlacementService
from tests.functional.placement.support import P, assert_placement_fault, mv, new_uuid

Cloud = tuple[httpx.AsyncClient, PlacementService]
NODE = {
    "VCPU": {"total": 8, "allocation_ratio": 2.0},
    "MEMORY_MB": {"total": 4096, "reserved": 512},
    "DISK_GB": {"total": 100},
}


async def test_ensure_provider_is_idempotent(cloud: Cloud) -> None:
    admin, svc = cloud
    uuid, agg = new_uuid(), new_uuid()
    await svc.ensure_provider(
        uuid=uuid, name="host-1", inventories=NODE, traits={"COMPUTE_NODE"}, aggregates={agg}
    )
    rp = (await admin.get(f"{P}/resource_providers/{uuid}")).json()
    assert rp["name"] == "host-1" and rp["generation"] == 1
    invs = (await admin.get(f"{P}/resource_providers/{uuid}/inventories")).json()["inventories"]
    assert invs["VCPU"]["allocation_ratio"] == 2.0 and invs["MEMORY_MB"]["reserved"] == 512
    assert invs["DISK_GB"]["max_unit"] == 2147483647
    # The same report again changes nothing, not even the generation.
    await svc.ensure_provider(
        uuid=uuid, name="host-1", inventories=NODE, traits={"COMPUTE_NODE"}, aggregates={agg}
    )
    assert (await admin.get(f"{P}/resource_providers/{uuid}")).json()["generation"] == 1
    # traits/aggregates left out are left alone; a changed inventory moves the generation.
    await svc.ensure_provider(uuid=uuid, name="host-1b", inventories={"VCPU": {"total": 16}})
    rp = (await admin.get(f"{P}/resource_providers/{uuid}")).json()
    assert rp["name"] == "host-1b" and rp["generation"] == 2
    traits = (await admin.get(f"{P}/resource_providers/{uuid}/traits", headers=mv(6))).json()
    assert traits["traits"] == ["COMPUTE_NODE"]
    assert [p.uuid for p in await svc.list_providers()] == [uuid]
    with pytest.raises(errors.BadRequest):
        await svc.ensure_provider(uuid=uuid, name="h", inventories={"VCPU": {"total": 0}})
    with pytest.raises(errors.BadRequest):
        await svc.ensure_provider(
            uuid=uuid, name="h", inventories={"VCPU": {"total": 1}}, traits={"NO_SUCH_TRAIT"}
        )


async def test_claim_replace_move_and_delete(cloud: Cloud) -> None:
    admin, svc = cloud
    node = new_uuid()
    await svc.ensure_provider(uuid=node, name="host-2", inventories=NODE)
    instance, migration = new_uuid(), new_uuid()
    await svc.claim(
        consumer_uuid=instance,
        project_id="p",
        user_id="u",
        allocations={node: {"VCPU": 4, "MEMORY_MB": 1024}},
    )
    assert await svc.get_allocations(instance) == {node: {"VCPU": 4, "MEMORY_MB": 1024}}
    # A claim replaces: the consumer now holds only what the last claim named.
    await svc.claim(
        consumer_uuid=instance, project_id="p", user_id="u", allocations={node: {"VCPU": 16}}
    )
    assert await svc.provider_usages(node) == {"VCPU": 16, "MEMORY_MB": 0, "DISK_GB": 0}
    with pytest.raises(AllocationConflict) as refused:
        await svc.claim(
            consumer_uuid=new_uuid(), project_id="p", user_id="u", allocations={node: {"VCPU": 1}}
        )
    assert "Unable to allocate inventory" in refused.value.message
    assert isinstance(refused.value, errors.Conflict)
    # 3585 MiB is one more than total - reserved.
    with pytest.raises(AllocationConflict):
        await svc.claim(
            consumer_uuid=new_uuid(),
            project_id="p",
            user_id="u",
            allocations={node: {"MEMORY_MB": 3585}},
        )
    # A removed class that is in use is refused; the provider stays as it was.
    with pytest.raises(InventoryInUse):
        await svc.ensure_provider(uuid=node, name="host-2", inventories={"DISK_GB": {"total": 1}})
    assert await svc.provider_consumers(node) == [instance]

    await svc.move_allocations(
        source_consumer=instance, target_consumer=migration, project_id="p", user_id="u"
    )
    assert await svc.get_allocations(instance) == {}
    assert await svc.get_allocations(migration) == {node: {"VCPU": 16}}
    # Moving from a consumer that holds nothing does nothing.
    await svc.move_allocations(
        source_consumer=instance, target_consumer=migration, project_id="p", user_id="u"
    )
    assert await svc.get_allocations(migration) == {node: {"VCPU": 16}}
    assert await svc.project_usages("p") == {"VCPU": 16}
    assert await svc.project_usages("p", "someone") == {}

    with pytest.raises(errors.Conflict):
        await svc.delete_provider(node)
    await svc.delete_allocations(migration)
    await svc.delete_allocations(migration)  # absent is fine
    assert await svc.project_usages("p") == {}
    await svc.delete_provider(node)
    with pytest.raises(errors.NotFound):
        await svc.provider_usages(node)
    assert_placement_fault(await admin.get(f"{P}/resource_providers/{node}"), 404)
