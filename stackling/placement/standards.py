"""The standard resource classes and traits: known in code, never stored, never deleted.

Placement takes these from the os-resource-classes and os-traits libraries;
Stackling keeps the names as data here. Anything else must be custom
(`CUSTOM_` prefix) and is stored in the database.
"""

from __future__ import annotations

import re

CUSTOM_PREFIX = "CUSTOM_"
# What a custom resource class or trait may be called.
CUSTOM_NAME = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
MAX_NAME = 255

# In os-resource-classes order (Placement numbers standard classes by position).
RESOURCE_CLASSES: tuple[str, ...] = (
    "VCPU",
    "MEMORY_MB",
    "DISK_GB",
    "PCI_DEVICE",
    "SRIOV_NET_VF",
    "NUMA_SOCKET",
    "NUMA_CORE",
    "NUMA_THREAD",
    "NUMA_MEMORY_MB",
    "IPV4_ADDRESS",
    "VGPU",
    "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC",
    "NET_BW_IGR_KILOBIT_PER_SEC",
    "PCPU",
    "MEM_ENCRYPTION_CONTEXT",
    "FPGA",
    "PGPU",
    "NET_PACKET_RATE_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
)


def _expand(prefix: str, names: str) -> list[str]:
    return [prefix + name for name in names.split()]


_CPU_X86 = """
    AVX AVX2 AVX512F AVX512CD AVX512PF AVX512ER AVX512VL AVX512BW AVX512DQ AVX512VNNI
    AVX512VBMI AVX512IFMA AVX512VPOPCNTDQ AVX512VBMI2 AVX512BITALG AVX512GFNI AVX512VAES
    AVX512VPCLMULQDQ MMX SSE SSE2 SSE3 SSSE3 SSE41 SSE42 SSE4A AES VMX SVM FMA3 FMA4 F16C
    BMI BMI2 ABM CLMUL TBM TSX XOP SHA MPX PDPE1GB STIBP SSBD AMD_IBPB AMD_NO_SSB
    AMD_SSBD AMD_VIRT_SSBD AMD_SEV AMD_SEV_ES AMD_SVM INTEL_VMX
"""
_IMAGE_TYPES = "AKI AMI ARI ISO QCOW2 RAW VDI VHD VHDX VMDK VMDK_MONOLITHIC_SPARSE PLOOP"
_GRAPHICS = "BOCHS CIRRUS GOP NONE QXL VGA VIRTIO VMVGA XEN"
_VIF_MODELS = (
    "E1000 E1000E IGB LAN9118 NETFRONT NE2K_PCI PCNET RTL8139 SPAPR_VLAN SRIOV VIRTIO "
    "VMXNET VMXNET3"
)
_STORAGE_BUSES = "FDC IDE LXC SATA SCSI UML USB VIRTIO XEN"
_ARCHES = (
    "AARCH64 ALPHA ARMV6 ARMV7 ARMV7B CRIS I686 IA64 LM32 M68K MICROBLAZE MICROBLAZEEL "
    "MIPS MIPSEL MIPS64 MIPS64EL OPENRISC PARISC PARISC64 PPC PPCLE PPC64 PPC64LE PPCEMB "
    "RISCV32 RISCV64 S390 S390X SH4 SH4EB SPARC SPARC64 UNICORE32 X86_64 XTENSA XTENSAEB"
)

TRAITS: frozenset[str] = frozenset(
    [
        # What a Nova compute node reports about its driver's capabilities.
        "COMPUTE_ACCELERATORS",
        "COMPUTE_ADDRESS_SPACE_EMULATED",
        "COMPUTE_ADDRESS_SPACE_PASSTHROUGH",
        "COMPUTE_DEVICE_TAGGING",
        "COMPUTE_EPHEMERAL_ENCRYPTION",
        "COMPUTE_EPHEMERAL_ENCRYPTION_LUKS",
        "COMPUTE_EPHEMERAL_ENCRYPTION_PLAIN",
        "COMPUTE_MANILA_CLIENT",
        "COMPUTE_MEM_BACKING_FILE",
        "COMPUTE_MIGRATE_AUTO_CONVERGE",
        "COMPUTE_MIGRATE_POST_COPY",
        "COMPUTE_NET_ATTACH_INTERFACE",
        "COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG",
        "COMPUTE_NET_VIRTIO_PACKED",
        "COMPUTE_NODE",
        "COMPUTE_RESCUE_BFV",
        "COMPUTE_SAME_HOST_COLD_MIGRATE",
        "COMPUTE_SECURITY_STATELESS_FIRMWARE",
        "COMPUTE_SECURITY_TPM_1_2",
        "COMPUTE_SECURITY_TPM_2_0",
        "COMPUTE_SECURITY_UEFI_SECURE_BOOT",
        "COMPUTE_SHARE_LOCAL_FS",
        "COMPUTE_SOCKET_PCI_NUMA_AFFINITY",
        "COMPUTE_STATUS_DISABLED",
        "COMPUTE_TRUSTED_CERTS",
        "COMPUTE_VIOMMU_MODEL_AUTO",
        "COMPUTE_VIOMMU_MODEL_INTEL",
        "COMPUTE_VIOMMU_MODEL_SMMUV3",
        "COMPUTE_VIOMMU_MODEL_VIRTIO",
        "COMPUTE_VOLUME_ATTACH",
        "COMPUTE_VOLUME_ATTACH_WITH_TAG",
        "COMPUTE_VOLUME_EXTEND",
        "COMPUTE_VOLUME_MULTI_ATTACH",
        *_expand("COMPUTE_IMAGE_TYPE_", _IMAGE_TYPES),
        *_expand("COMPUTE_GRAPHICS_MODEL_", _GRAPHICS),
        *_expand("COMPUTE_NET_VIF_MODEL_", _VIF_MODELS),
        *_expand("COMPUTE_STORAGE_BUS_", _STORAGE_BUSES),
        *_expand("COMPUTE_FIRMWARE_", "BIOS UEFI"),
        *_expand("HW_ARCH_", _ARCHES),
        *_expand("HW_CPU_X86_", _CPU_X86),
        "HW_CPU_HYPERTHREADING",
        "HW_CPU_AARCH64_FP",
        "HW_CPU_AARCH64_ASIMD",
        "HW_CPU_AARCH64_AES",
        "HW_CPU_AARCH64_SHA1",
        "HW_CPU_AARCH64_SHA2",
        "HW_CPU_AARCH64_CRC32",
        "HW_CPU_AARCH64_SVE",
        "HW_NUMA_ROOT",
        "HW_GPU_API_DIRECT2D",
        "HW_GPU_API_DIRECT3D_V12_0",
        "HW_GPU_API_OPENGL_V4_6",
        "HW_GPU_API_VULKAN",
        "HW_GPU_CUDA_COMPUTE_CAPABILITY_V8_0",
        "HW_NIC_ACCEL_SSL",
        "HW_NIC_ACCEL_IPSEC",
        "HW_NIC_DCB_ETS",
        "HW_NIC_DCB_PFC",
        "HW_NIC_OFFLOAD_GRO",
        "HW_NIC_OFFLOAD_GSO",
        "HW_NIC_OFFLOAD_LRO",
        "HW_NIC_OFFLOAD_RX",
        "HW_NIC_OFFLOAD_RXHASH",
        "HW_NIC_OFFLOAD_RXVLAN",
        "HW_NIC_OFFLOAD_SG",
        "HW_NIC_OFFLOAD_TSO",
        "HW_NIC_OFFLOAD_TX",
        "HW_NIC_OFFLOAD_TXVLAN",
        "HW_NIC_OFFLOAD_UFO",
        "HW_NIC_OFFLOAD_VXLAN",
        "HW_NIC_SRIOV",
        "HW_NIC_SRIOV_MULTIQUEUE",
        "HW_NIC_SRIOV_TRUSTED",
        "HW_NIC_VMDQ",
        "MISC_SHARES_VIA_AGGREGATE",
        "STORAGE_DISK_HDD",
        "STORAGE_DISK_SSD",
        "OWNER_CYBORG",
        "OWNER_NOVA",
    ]
)


def is_standard_class(name: str) -> bool:
    """A resource class every Placement knows without it being created."""
    return name in _STANDARD_CLASS_SET


def is_custom_name(name: str) -> bool:
    """Whether `name` is a well-formed custom resource class or trait name."""
    return len(name) <= MAX_NAME and CUSTOM_NAME.match(name) is not None


_STANDARD_CLASS_SET = frozenset(RESOURCE_CLASSES)
