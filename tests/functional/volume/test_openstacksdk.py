"""openstacksdk's block-storage proxy against the API served over real HTTP."""

from __future__ import annotations

import openstack
import pytest
from openstack import exceptions

from stackling.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.functional.network.test_openstacksdk import serving


def test_openstacksdk_drives_volumes(settings: Settings) -> None:
    with serving(settings) as url:
        conn = openstack.connect(
            auth_url=f"{url}/identity/v3",
            username="admin",
            password=ADMIN_PASSWORD,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
            # The catalog names the configured port, not this test server's.
            block_storage_endpoint_override=f"{url}/volume/v3",
        )
        try:
            vol = conn.block_storage.create_volume(size=1, name="sdk-vol")
            vol = conn.block_storage.wait_for_status(vol, "available", interval=0.05, wait=60)
            assert vol.size == 1 and vol.name == "sdk-vol" and vol.is_bootable is False
            assert [v.id for v in conn.block_storage.volumes(name="sdk-vol")] == [vol.id]
            assert conn.block_storage.get_volume(vol.id).volume_type == "__DEFAULT__"
            types = [t.name for t in conn.block_storage.types()]
            assert "__DEFAULT__" in types
            with pytest.raises(exceptions.ResourceNotFound):
                conn.block_storage.get_volume("7a1f3e2b-0000-4000-8000-000000000000")
            conn.block_storage.delete_volume(vol)
            conn.block_storage.wait_for_delete(vol, interval=0.05, wait=60)
        finally:
            conn.close()
