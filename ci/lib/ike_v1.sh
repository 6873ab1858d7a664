# What the IKEv1 strongSwan scripts share (sourced after ci/lib/ike_topology.sh).

# One IKEv1 PSK connection of strongSwan to G, child `net` (10.2.0.0/16 <-> 10.1.0.0/16),
# offering $IKE_PROPOSALS. An IKEv1 responder picks its IKE config by addresses and
# proposals before it knows the peer's identity: every conn offers the same IKE proposals,
# and our identity (fqdn:NAME.gw) selects the conn once it comes.
swan_v1_conn() { # name, ESP proposals, [dpd_delay: 0, no DPD of strongSwan's]
  printf '  %s {\n    version = 1\n    local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1\n' "$1"
  printf '    proposals = %s\n    encap = yes\n    dpd_delay = %s\n    rekey_time = 0\n' "$IKE_PROPOSALS" "${3:-0}"
  printf '    local { auth = psk\n      id = 192.0.2.2 }\n    remote { auth = psk\n      id = %s.gw }\n' "$1"
  printf '    children { net { local_ts = 10.2.0.0/16\n        remote_ts = 10.1.0.0/16\n'
  printf '        rekey_time = 0\n        esp_proposals = %s } }\n  }\n' "$2"
}
