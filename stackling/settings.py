"""The one typed settings object: defaults, then a TOML file, then STACKLING_* env vars."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path("/var/lib/stackling")


class DatabaseSettings(BaseModel):
    """Where the state lives; empty url means SQLite in the data dir."""

    url: str = ""
    busy_timeout_s: float = 30.0
    # Retries of a write transaction that lost a race (busy, serialisation failure).
    write_retries: int = 8
    pool_size: int = 8


class BusSettings(BaseModel):
    """The message bus; `local` is the in-process bus."""

    url: str = "local://"
    call_timeout_s: float = 60.0


class IdentitySettings(BaseModel):
    """Keystone behaviour."""

    token_expiration_s: int = 3600
    # Keystone hashes with bcrypt at cost 12 by default; so do we.
    password_hash_rounds: int = Field(default=12, ge=4, le=31)
    # Keys kept in the repository: one primary, one staged, the rest secondary.
    max_active_keys: int = Field(default=3, ge=2)
    allow_expired_window_s: int = 172800
    # How long a successful password check is remembered (0 turns it off).
    password_cache_ttl_s: int = 300
    list_limit: int | None = None
    trust_enabled: bool = True


class ImageStoreSettings(BaseModel):
    """One image store (a Glance "backend")."""

    # "file" keeps one file per image under path; "object" one object per image in
    # the object service (Glance's swift store; needs "object" in services);
    # "fake" is in memory, for tests only.
    driver: str = "file"
    description: str = "Filesystem store in the data dir"
    # Where the file driver keeps data; empty means <data_dir>/images/<store id>.
    path: str = ""


class ImageSettings(BaseModel):
    """Glance behaviour."""

    # Store id -> store; the first is the default. More than one enables copy-image.
    stores: dict[str, ImageStoreSettings] = {"file": ImageStoreSettings()}
    # Per project; -1 means unlimited (Glance's unified-limit names).
    image_count_total: int = Field(default=1000, ge=-1)
    image_size_total_bytes: int = Field(default=1 << 40, ge=-1)
    image_stage_total_bytes: int = Field(default=1 << 40, ge=-1)
    image_count_uploading: int = Field(default=100, ge=-1)
    image_member_quota: int = Field(default=128, ge=-1)
    image_property_quota: int = Field(default=128, ge=-1)
    image_tag_quota: int = Field(default=128, ge=-1)
    # Largest single image accepted (Glance's image_size_cap, 1 TiB).
    image_size_cap: int = Field(default=1 << 40, ge=1)
    api_limit_max: int = Field(default=1000, ge=1)
    limit_param_default: int = Field(default=25, ge=1)
    # Register the locally built test image as `cirros` when the cloud has no images.
    register_test_image: bool = True
    # Inspect uploaded data with qemu-img before an image becomes active.
    inspect_images: bool = True
    # How long finished tasks stay listed (Glance's task_time_to_live, 48 h).
    task_ttl_s: int = 172800


class ComputeSettings(BaseModel):
    """Nova behaviour: the hypervisor driver, allocation ratios, default quotas."""

    # "libvirt" runs real guests; "fake" is for tests and scale simulation only.
    driver: str = "libvirt"
    # This host's name as a compute host; empty means the machine's hostname.
    host: str = ""
    # With the fake driver: how many hosts to simulate (host, host-2, host-3...).
    fake_hosts: int = Field(default=1, ge=1, le=1000)
    libvirt_uri: str = "qemu:///system"
    # "auto" uses KVM only when a probe guest actually runs under it, else QEMU TCG.
    virt_type: str = "auto"
    # How long a guest gets to shut down cleanly before it is forced off (Nova's default).
    shutdown_timeout_s: float = Field(default=60.0, ge=0)
    # Nova's long-standing default; small test guests idle most of the time.
    cpu_allocation_ratio: float = Field(default=16.0, gt=0)
    ram_allocation_ratio: float = Field(default=1.0, gt=0)
    disk_allocation_ratio: float = Field(default=1.0, gt=0)
    reserved_host_memory_mb: int = Field(default=512, ge=0)
    reserved_host_disk_mb: int = Field(default=0, ge=0)
    # Until networking gives guests the metadata service, the config drive carries it.
    force_config_drive: bool = True
    default_availability_zone: str = "nova"
    # Builds and other actions a compute host runs at once.
    max_concurrent_actions: int = Field(default=10, ge=1)
    create_default_flavors: bool = True
    # How long a remote console URL stays valid (Nova's consoleauth default).
    console_token_ttl_s: int = Field(default=600, ge=1)
    api_max_limit: int = Field(default=1000, ge=1)
    # Default quotas (the `default` quota class); -1 is unlimited.
    quota_instances: int = Field(default=10, ge=-1)
    quota_cores: int = Field(default=20, ge=-1)
    quota_ram: int = Field(default=51200, ge=-1)
    quota_key_pairs: int = Field(default=100, ge=-1)
    quota_metadata_items: int = Field(default=128, ge=-1)
    quota_server_groups: int = Field(default=10, ge=-1)
    quota_server_group_members: int = Field(default=10, ge=-1)
    quota_injected_files: int = Field(default=5, ge=-1)
    quota_injected_file_content_bytes: int = Field(default=10240, ge=-1)
    quota_injected_file_path_bytes: int = Field(default=255, ge=-1)


class NetworkSettings(BaseModel):
    """Neutron behaviour: segment ranges, MTUs, MAC prefix, limits and default quotas."""

    # Project networks get a segment of this type ("vxlan", or "local" on a single host).
    tenant_network_type: Literal["vxlan", "local"] = "vxlan"
    # VXLAN network ids handed to project networks, lowest free first.
    vni_min: int = Field(default=1, ge=1, le=(1 << 24) - 1)
    vni_max: int = Field(default=65535, ge=1, le=(1 << 24) - 1)
    # Physical networks flat provider networks may name ("*" allows any name).
    flat_networks: list[str] = ["*"]
    # MTU of the physical network; VXLAN networks get 50 bytes less (its IPv4 overhead).
    global_physnet_mtu: int = Field(default=1500, ge=68)
    # Ports get this MAC prefix; the octets left at 00 are random (Neutron's base_mac).
    base_mac: str = Field(
        default="fa:16:3e:00:00:00", pattern=r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$"
    )
    # Availability zones networks may be hinted to; every network is in all of them.
    availability_zones: list[str] = ["nova"]
    max_dns_nameservers: int = Field(default=5, ge=0)
    max_subnet_host_routes: int = Field(default=20, ge=0)
    max_allowed_address_pair: int = Field(default=10, ge=0)
    # Largest page a list returns; -1 means no limit (Neutron's pagination_max_limit).
    pagination_max_limit: int = Field(default=-1, ge=-1)
    # Default quotas per project; -1 is unlimited.
    quota_network: int = Field(default=100, ge=-1)
    quota_subnet: int = Field(default=100, ge=-1)
    quota_port: int = Field(default=500, ge=-1)
    quota_router: int = Field(default=10, ge=-1)
    quota_floatingip: int = Field(default=50, ge=-1)
    quota_security_group: int = Field(default=10, ge=-1)
    quota_security_group_rule: int = Field(default=100, ge=-1)
    quota_subnetpool: int = Field(default=-1, ge=-1)
    # The data-plane agent (bridges, VXLAN, DHCP, security groups) of this host.
    agent_enabled: bool = True
    # This host's name as a network host (ports' binding:host_id); empty means the
    # compute host's name, else the machine's hostname.
    agent_host: str = ""
    # The address VXLAN tunnels of this host start from (its VTEP).
    local_ip: str = "127.0.0.1"
    # Where DHCP servers keep their files; empty means <data_dir>/network/dhcp. dnsmasq
    # re-reads them as nobody: the path must be traversable by others.
    dhcp_dir: Path | None = None
    # A prefix on the namespaces the agent makes and sweeps (tests use a random one).
    tag: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,40}$")
    # The namespace standing for the host's (bridges, taps, host tables); None: the real one.
    host_netns: str | None = None
    # Source ranges (tenant and provider) the host guard never lets the host forward out.
    guard_prefixes: list[str] = []
    # How often the agent looks for taps appearing or vanishing, and heartbeats.
    agent_poll_s: float = Field(default=2.0, gt=0)
    # Physical network → the Linux bridge its flat networks use instead of brq<id>
    # (made by the agent if absent, never swept), as the linuxbridge agent's mappings.
    bridge_mappings: dict[str, str] = {"public": "br-stackling"}
    # Bridge → the host's own address on it, so the host reaches the provider network
    # (as devstack's br-ex); its range is added to what the host guard keeps in.
    provider_host_cidrs: dict[str, str] = {"br-stackling": "172.24.4.1/24"}
    # The external network a new cloud gets (flat, on this physical network), unless an
    # external network exists already; an empty CIDR makes none.
    public_network_name: str = "public"
    public_network_cidr: str = "172.24.4.0/24"
    public_physical_network: str = "public"
    # The shared default IPv4 subnet pool auto-allocated topologies draw from, made with
    # the public network (devstack's shared-default-subnetpool-v4) unless a default IPv4
    # pool exists; an empty prefix makes none.
    default_subnetpool_v4_prefix: str = "10.0.0.0/22"
    default_subnetpool_v4_prefixlen: int = Field(default=26, ge=8, le=30)

    @model_validator(mode="after")
    def _check_ranges(self) -> NetworkSettings:
        if self.vni_min > self.vni_max:
            raise ValueError("network.vni_min must not be greater than network.vni_max")
        if int(self.base_mac[:2], 16) & 1:
            raise ValueError("network.base_mac must be a unicast MAC (even first octet)")
        for bridge in [*self.bridge_mappings.values(), *self.provider_host_cidrs]:
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", bridge):
                raise ValueError(f"network: bad bridge name {bridge!r} (at most 15 characters)")
        for cidr in self.provider_host_cidrs.values():
            try:
                ipaddress.ip_interface(cidr)
            except ValueError:
                raise ValueError(f"network.provider_host_cidrs: bad {cidr!r}") from None
        return self


class VolumeSettings(BaseModel):
    """Cinder behaviour: the backend, where it keeps volumes, the default type and quotas."""

    # "file" keeps one qcow2 file per volume; "lvm" one thin LV per volume in the
    # lvm_* volume group's thin pool; "fake" is in memory, for tests only.
    backend: str = "file"
    # Where the file backend keeps volumes; None means <data_dir>/volume.
    data_dir: Path | None = None
    # The lvm backend's volume group and thin pool in it (the operator creates both).
    lvm_volume_group: str = "stackling-volumes"
    lvm_thin_pool: str = "stackling-pool"
    # The type of volumes created without one (Cinder's default_volume_type).
    default_volume_type: str = "__DEFAULT__"
    # Cinder's storage_availability_zone: the one zone every volume is in.
    availability_zone: str = "nova"
    # Largest page a list returns (Cinder's osapi_max_limit).
    osapi_max_limit: int = Field(default=1000, ge=1)
    # Builds, extends and deletes the agent runs at once.
    max_concurrent_operations: int = Field(default=4, ge=1)
    # Default quotas per project, as Cinder's; -1 is unlimited.
    quota_volumes: int = Field(default=10, ge=-1)
    quota_gigabytes: int = Field(default=1000, ge=-1)
    quota_snapshots: int = Field(default=10, ge=-1)
    quota_backups: int = Field(default=10, ge=-1)
    quota_backup_gigabytes: int = Field(default=1000, ge=-1)
    quota_groups: int = Field(default=10, ge=-1)
    per_volume_size_limit: int = Field(default=-1, ge=-1)
    # Where backups go: "filesystem" (files under backup_dir, Cinder's posix driver)
    # or "object" (objects in the object service, Cinder's swift driver; needs
    # "object" in services).
    backup_driver: str = "filesystem"
    # Where the filesystem backup target keeps backups; None means <data_dir>/backups.
    backup_dir: Path | None = None
    # Backups are stored (and compared, for incremental ones) in chunks of this size.
    backup_chunk_mb: int = Field(default=32, ge=1)


class ObjectSettings(BaseModel):
    """Swift and S3 behaviour: the store, where it keeps data, and Swift's limits."""

    # "file" keeps one file per object version under data_dir; "fake" is in
    # memory, for tests and scale simulation only.
    driver: str = "file"
    # Where the file driver keeps objects; None means <data_dir>/objects.
    data_dir: Path | None = None
    # Swift's constraints, as /info reports them.
    max_file_size: int = Field(default=5 * 1024**3 + 2, ge=1)
    max_meta_name_length: int = 128
    max_meta_value_length: int = 256
    max_meta_count: int = 90
    max_meta_overall_size: int = 4096
    max_header_size: int = 8192
    max_object_name_length: int = 1024
    max_container_name_length: int = 256
    container_listing_limit: int = Field(default=10000, ge=1)
    account_listing_limit: int = Field(default=10000, ge=1)
    # Static large objects.
    max_manifest_segments: int = 1000
    max_manifest_size: int = 8 * 1024 * 1024
    min_segment_size: int = 1
    # Bulk operations.
    max_deletes_per_request: int = 10000
    max_containers_per_extraction: int = 10000
    # The S3 API's region (what clients sign with) and location constraint.
    s3_region: str = "us-east-1"
    # How long (s) account metadata read for quota checks is reused (Swift's proxy caches it too).
    account_cache_s: float = Field(default=5.0, ge=0)
    # How often (s) expired objects are removed and freed data is reclaimed.
    reaper_interval_s: float = Field(default=5.0, gt=0)


class LogSettings(BaseModel):
    """Logging."""

    level: str = "INFO"
    access_log: bool = True


class Settings(BaseSettings):
    """Everything a Stackling process needs to know, typed."""

    model_config = SettingsConfigDict(
        env_prefix="STACKLING_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 8780
    # The address clients are told to use (catalog, clouds.yaml); defaults to host:port.
    public_url: str = ""
    region: str = "RegionOne"
    # Larger request bodies get 413 unread (Keystone's max_request_body_size); 0 turns it off.
    max_request_body_bytes: int = Field(default=114688, ge=0)
    services: list[str] = [
        "identity",
        "placement",
        "image",
        "compute",
        "network",
        "volume",
        "object",
    ]
    admin_password: str = ""
    database: DatabaseSettings = DatabaseSettings()
    bus: BusSettings = BusSettings()
    identity: IdentitySettings = IdentitySettings()
    image: ImageSettings = ImageSettings()
    compute: ComputeSettings = ComputeSettings()
    network: NetworkSettings = NetworkSettings()
    volume: VolumeSettings = VolumeSettings()
    object: ObjectSettings = ObjectSettings()
    log: LogSettings = LogSettings()

    # The TOML file these settings were read from, if any (shown by `config show`).
    config_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def endpoint(self) -> str:
        """Base URL that clients use to reach this process."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the database."""
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir / 'stackling.db'}"

    @property
    def log_dir(self) -> Path:
        """Directory holding the process log."""
        return self.data_dir / "logs"


def load(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, an optional TOML file, env vars and overrides."""
    cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise FileNotFoundError(f"config file {config_file} does not exist")

        class FileSettings(Settings):
            model_config = SettingsConfigDict(toml_file=config_file)

        cls = FileSettings
    settings = cls(**{k: v for k, v in overrides.items() if v is not None})
    settings.config_file = config_file
    return settings
