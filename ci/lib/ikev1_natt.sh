# The NAT of the IKEv1 NAT-T test (ci/ike_v1_natt.sh), on the topology of
# ci/lib/ike_topology.sh (source that first, then call `natt_topology_up TAG`):
#
#   host L (10.1.0.10) --veth-- [G: port 0 | port 1] --veth-- N (192.0.2.2 | 172.16.0.1)
#                                                              --veth-- strongSwan S (172.16.0.2, 10.2.0.1)
#
# N masquerades what S sends out behind 192.0.2.2 (nft), UDP onto ports 30000-39999: strongSwan's
# 500 and 4500 reach G from other ports. G's port 1 keeps its next hop 192.0.2.2 (N now). The
# trap deletes N too.

NAT_PORTS=${NAT_PORTS:-30000-39999}

natt_cleanup() {
  ike_cleanup
  ip netns del "${t}N" 2>/dev/null || true
}

natt_topology_up() { # tag
  ike_topology_up "$1"
  trap natt_cleanup EXIT
  ip netns add "${t}N"
  # S's end of the link to G moves into N, and takes S's public address there.
  ip -n "${t}S" link set s0 netns "${t}N"
  ip link add n1 netns "${t}N" type veth peer name s1 netns "${t}S"
  ip netns exec "${t}N" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "${t}S" sysctl -qw net.ipv6.conf.s1.disable_ipv6=1
  local dev
  for dev in s0 n1; do
    ip netns exec "${t}N" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
    ip -n "${t}N" link set "$dev" up
  done
  ip -n "${t}S" link set s1 up
  # G's fast path reads N's frames raw: their checksums must be filled in (ci/lib/ike_topology.sh).
  ip netns exec "${t}N" ethtool -K s0 tx off >/dev/null
  ip netns exec "${t}S" ethtool -K s1 tx off >/dev/null
  ip -n "${t}N" addr add 192.0.2.2/24 dev s0
  ip -n "${t}N" addr add 172.16.0.1/24 dev n1
  ip -n "${t}S" addr add 172.16.0.2/24 dev s1
  ip -n "${t}S" route add default via 172.16.0.1
  ip netns exec "${t}N" nft -f - <<NFT
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "s0" meta l4proto udp masquerade to :$NAT_PORTS
    oifname "s0" masquerade
  }
}
NFT
  # G's kernel sometimes holds a NOARP entry with the broadcast MAC for its next hop on the
  # TAP, which the fast path never takes (it then sends to the broadcast MAC): S took such
  # frames as its own, N, forwarding, drops them (not PACKET_HOST). N's MAC, set for good:
  # this test is about NAT-T, not ARP.
  local mac
  mac=$(ip -n "${t}N" -br link show s0 | awk '{print $3}')
  ip -n "${t}G" neigh replace 192.0.2.2 lladdr "$mac" dev tapO nud permanent
}

# The NAT's UDP mappings of S's port $1: "PUBLIC_PORT" for each (from its conntrack table).
nat_mapped_ports() { # S's port
  ip netns exec "${t}N" cat /proc/net/nf_conntrack 2>/dev/null |
    awk -v p="$1" '$0 ~ /udp/ && $0 ~ "src=172.16.0.2 " && $0 ~ "sport=" p " " {
      n = split($0, f, " "); c = 0
      for (i = 1; i <= n; i++) if (f[i] ~ /^dport=/) { c++; if (c == 2) { sub("dport=", "", f[i]); print f[i] } } }' | sort -u
}
