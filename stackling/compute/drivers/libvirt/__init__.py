"""The libvirt/QEMU driver: real guests, KVM when it works here, else QEMU TCG.

`driver.LibvirtDriver` is the entry point. The XML builder (`xml`, `layout`), the
disk helpers (`disks`), the daemon starter (`daemons`) and the KVM probe
(`virt_type`) are plain Python; `connection`, `events`, `domains` and `info` talk
to libvirt through its bindings, always from worker threads.
"""
