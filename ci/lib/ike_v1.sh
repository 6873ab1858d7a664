# What the IKEv1 strongSwan interop tests share (source it after ci/lib/ike_topology.sh):
# the views of an IKEv1 SA on both sides, and the checks of a tunnel that came up.

# Whether slowpath-ctl shows an established SA with IKE version 1.
our_v1_up() { ctl ike-sas 2>/dev/null | python3 -c "
import json,sys
sys.exit(0 if any(s['state']=='Established' and s.get('version')==1 for s in json.load(sys.stdin)) else 1)"; }
# strongSwan lists an IKEv1 SA as `mm: #1, ESTABLISHED, IKEv1, ...`.
swan_v1_established() { swan --list-sas 2>/dev/null | grep -q "ESTABLISHED, IKEv1"; }
# Whether strongSwan's installed IPsec SA was keyed with PFS in the group named.
swan_child_pfs() { # group, as swanctl names it (MODP_2048)
  swan --list-sas 2>/dev/null | grep -E 'INSTALLED' -A1 | grep -q "ESP:.*$1"
}

# Both sides up, the fast path keyed, and L's ping through the tunnel counted by strongSwan.
v1_case_up() { # label
  check "$1: ISAKMP SA established on our side (version 1)" wait_for 15 our_v1_up
  check "$1: strongSwan sees an IKEv1 SA ESTABLISHED" wait_for 10 swan_v1_established
  check "$1: strongSwan installed the IPsec SA" wait_for 10 swan_has INSTALLED
  check "$1: the fast path has the SA pair" wait_for 5 fp_sas_at_least 2
  check "$1: L pings through the tunnel" wait_for 10 ping_through
  check "$1: strongSwan counted our packets" swan_counted
}
