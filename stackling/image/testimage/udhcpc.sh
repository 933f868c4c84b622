#!/bin/sh
# busybox udhcpc hook of the Stackling test guest: applies a DHCP lease to one NIC.
# udhcpc passes the event as $1 and the lease in the environment ($interface, $ip,
# $mask, $router, $dns, $staticroutes, $mtu...).

metric=$(cat "/sys/class/net/$interface/ifindex" 2>/dev/null || echo 0)

case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set dev "$interface" up
	;;
bound | renew)
	[ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
	# A renewal of the same address keeps it (and the routes through it) in place.
	if ! ip -4 addr show dev "$interface" | grep -q " inet $ip/"; then
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/${mask:-${subnet:-24}}" broadcast + dev "$interface"
	fi
	if [ -n "$staticroutes" ]; then
		# RFC 3442: classless routes (e.g. the metadata host route) replace option 3.
		# shellcheck disable=SC2086 # pairs of destination and gateway
		set -- $staticroutes
		while [ $# -ge 2 ]; do
			if [ "$2" = 0.0.0.0 ]; then
				ip route replace "$1" dev "$interface" metric "$metric"
			else
				ip route replace "$1" via "$2" dev "$interface" metric "$metric"
			fi
			shift 2
		done
	elif [ -n "$router" ]; then
		for gw in $router; do
			ip route replace default via "$gw" dev "$interface" metric "$metric"
			break
		done
	fi
	if [ -n "$dns" ]; then
		for server in $dns; do
			grep -q "^nameserver $server\$" /etc/resolv.conf 2>/dev/null ||
				echo "nameserver $server" >>/etc/resolv.conf
		done
		[ -n "$domain" ] && ! grep -q '^search' /etc/resolv.conf &&
			echo "search $domain" >>/etc/resolv.conf
	fi
	;;
esac
exit 0
