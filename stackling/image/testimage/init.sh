#!/bin/sh
# PID 1 of the Stackling test guest (a busybox initramfs, in the spirit of CirrOS).
#
# Boot: mount the API file systems, load the drivers, DHCP on every NIC, read instance
# metadata (config drive labelled config-2 first, then the metadata service, OpenStack
# then EC2), install SSH keys, set the hostname, run #! user-data, start dropbear, print
# one "STACKLING-GUEST-READY <nic>=<ipv4>..." line, then hand over to busybox init (a
# shell on ttyS0). Every wait is bounded: the guest always reaches the ready line.
#
# Kernel command line knobs: stackling.metadata_timeout=SECONDS (default 20).

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022

/bin/busybox mkdir -p /proc /sys /dev /run /tmp
/bin/busybox mount -t proc -o nosuid,nodev,noexec proc /proc
/bin/busybox mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
/bin/busybox mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
/bin/busybox --install -s
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
mkdir -p /run/stackling /var/log
exec </dev/console >/dev/console 2>&1

STATE=/run/stackling
MDS=http://169.254.169.254
MD_TIMEOUT=20
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	stackling.metadata_timeout=*) MD_TIMEOUT=${arg#*=} ;;
	esac
done

# /dev/console is the last console= of the command line; when that is not the serial
# port, write the lines that tools wait for to the serial port as well.
SERIAL_TOO=0
active=$(cat /sys/class/tty/console/active 2>/dev/null)
[ "${active##* }" != ttyS0 ] && [ -c /dev/ttyS0 ] && SERIAL_TOO=1

say() {
	echo "$*"
	[ "$SERIAL_TOO" = 1 ] && echo "$*" 2>/dev/null >/dev/ttyS0
}

log() {
	read -r up _ </proc/uptime
	say "stackling-guest[$up]: $*"
}

uptime_s() {
	read -r up _ </proc/uptime
	echo "${up%%.*}"
}

hostname stackling-guest

# Drivers, in dependency order (computed when the image was built).
kver=$(uname -r)
while read -r module; do
	insmod "/lib/modules/$kver/$module" 2>/dev/null
done </etc/stackling/modules

log "drivers loaded"

# Host keys for dropbear, made in the background: the first getrandom() waits for the
# kernel's entropy pool (seconds under TCG without a virtio-rng), which then overlaps
# with DHCP and metadata instead of adding to them.
mkdir -p /etc/dropbear
(
	for type in ed25519 ecdsa; do
		dropbearkey -t "$type" -f "/etc/dropbear/dropbear_${type}_host_key" >/dev/null 2>&1
	done
) &
keygen=$!

# Network: every NIC up, DHCP on all of them at once, bounded (udhcpc keeps trying in
# the background and renews leases once it has one).
ip link set lo up
ifaces=""
for path in /sys/class/net/*; do
	name=${path##*/}
	[ "$name" = lo ] && continue
	ifaces="$ifaces $name"
	ip link set "$name" up
done
dhcp=""
for name in $ifaces; do
	udhcpc -i "$name" -b -t 5 -T 1 -A 5 -O staticroutes -O mtu \
		-p "/run/udhcpc.$name.pid" -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
	dhcp="$dhcp $!"
done

# Config drive: a file system labelled config-2 (ISO 9660 or VFAT), searched while DHCP runs.
find_config_drive() {
	for label in config-2 CONFIG-2; do
		findfs "LABEL=$label" 2>/dev/null && return 0
	done
	return 1
}

read_config_drive() {
	dev=$(find_config_drive) || return 1
	mkdir -p /mnt/config
	mount -o ro "$dev" /mnt/config 2>/dev/null || return 1
	latest=/mnt/config/openstack/latest
	found=1
	if [ -f "$latest/meta_data.json" ]; then
		cp "$latest/meta_data.json" "$STATE/meta_data.json"
		[ -f "$latest/user_data" ] && cp "$latest/user_data" "$STATE/user_data"
		found=0
	fi
	umount /mnt/config
	return $found
}

# Drives probe synchronously (scsi_mod.scan=sync, libata waits in insmod), so a config
# drive is normally there already; a second look after DHCP costs nothing.
source=none
read_config_drive && source=config-drive

# The first round of DHCP (a bare `wait` would wait for the key generation too).
# shellcheck disable=SC2086 # one pid each
[ -n "$dhcp" ] && wait $dhcp
log "network configured"

[ "$source" = none ] && read_config_drive && source=config-drive

has_ipv4() {
	ip -4 addr show scope global 2>/dev/null | grep -q ' inet '
}

# One bounded HTTP GET into a file; the file only appears when the request succeeded.
# (`timeout`, not `wget -T`: Debian 12's busybox-static wget crashes with -T.)
fetch() {
	rm -f "$2.part"
	timeout 5 wget -q -O "$2.part" "$1" 2>/dev/null && mv "$2.part" "$2"
}

if [ "$source" = none ] && has_ipv4; then
	deadline=$(($(uptime_s) + MD_TIMEOUT))
	while :; do
		if fetch "$MDS/openstack/latest/meta_data.json" "$STATE/meta_data.json"; then
			fetch "$MDS/openstack/latest/user_data" "$STATE/user_data"
			source=openstack
			break
		fi
		if fetch "$MDS/latest/meta-data/instance-id" "$STATE/instance-id"; then
			fetch "$MDS/latest/meta-data/public-keys/0/openssh-key" "$STATE/ec2-key"
			fetch "$MDS/latest/meta-data/hostname" "$STATE/ec2-hostname"
			fetch "$MDS/latest/user-data" "$STATE/user_data"
			source=ec2
			break
		fi
		[ "$(uptime_s)" -ge "$deadline" ] && break
		sleep 1
	done
fi

# Minimal JSON reading: nova's meta_data.json keeps strings free of quotes, and
# public_keys is a flat object of name -> key.
json=""
[ -f "$STATE/meta_data.json" ] && json=$(tr '\n\r\t' '   ' <"$STATE/meta_data.json")

json_string() {
	echo "$json" | grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" | head -n 1 |
		sed 's/^[^:]*:[[:space:]]*"//; s/"$//'
}

unescape() {
	sed 's/\\n/\n/g; s/\\r//g; s/\\\//\//g'
}

keys=""
fqdn=""
case "$source" in
config-drive | openstack)
	keys=$(echo "$json" | grep -o '"public_keys"[[:space:]]*:[[:space:]]*{[^}]*}' |
		grep -o ':[[:space:]]*"[^"]*"' | sed 's/^:[[:space:]]*"//; s/"$//' | unescape)
	fqdn=$(json_string hostname)
	[ -n "$fqdn" ] || fqdn=$(json_string name)
	;;
ec2)
	[ -f "$STATE/ec2-key" ] && keys=$(cat "$STATE/ec2-key")
	[ -f "$STATE/ec2-hostname" ] && fqdn=$(head -n 1 "$STATE/ec2-hostname")
	;;
esac

mkdir -p /root/.ssh
chmod 700 /root /root/.ssh
echo "$keys" | grep -E '^(ssh-|ecdsa-|sk-)' >/root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
nkeys=$(grep -c . /root/.ssh/authorized_keys)

# The short name, as cloud-init sets it; only characters a hostname may hold.
short=$(echo "${fqdn%%.*}" | tr -cd 'A-Za-z0-9-' | cut -c 1-63)
if [ -n "$short" ]; then
	hostname "$short"
	echo "$short" >/etc/hostname
	[ "$fqdn" != "$short" ] || fqdn=""
	echo "127.0.1.1 $fqdn $short" >>/etc/hosts
fi
log "metadata=$source hostname=$(hostname) keys=$nkeys"

if [ -f "$STATE/user_data" ] && [ "$(head -c 2 "$STATE/user_data")" = "#!" ]; then
	chmod 700 "$STATE/user_data"
	log "running user-data"
	timeout 300 "$STATE/user_data"
	log "user-data exited with $?"
fi

# SSH: publish the host keys like cloud-init does, then serve.
wait "$keygen"
hostkeys=""
for file in /etc/dropbear/*_host_key; do
	[ -f "$file" ] && hostkeys="$hostkeys -r $file"
done
say "-----BEGIN SSH HOST KEY KEYS-----"
for file in /etc/dropbear/*_host_key; do
	dropbearkey -y -f "$file" 2>/dev/null | grep -E '^(ssh-|ecdsa-)' | cut -d ' ' -f 1-2 |
		while read -r line; do say "$line"; done
done
say "-----END SSH HOST KEY KEYS-----"
# shellcheck disable=SC2086 # one -r per key file
dropbear $hostkeys -p 22 -P /run/dropbear.pid

# ACPI power button (nova/libvirt `stop`) -> clean poweroff.
ls /dev/input/event* >/dev/null 2>&1 && acpid -c /etc/acpi

addresses=""
for name in $ifaces; do
	for addr in $(ip -4 addr show dev "$name" | sed -n 's/^ *inet \([0-9.]*\)\/.*/\1/p'); do
		addresses="$addresses $name=$addr"
	done
done
log "up"
say "STACKLING-GUEST-READY$addresses"

exec /bin/busybox init
