# One IKEv1 tunnel of strongSwan's to G, both sides' configuration (ci/ha_failover_v1.sh,
# ci/restart_recovery.sh): conn `v1`, Main Mode PSK (aes128-sha1-modp1024, the secret of
# `swan_psk_secret` and our `gw`), NAT-T forced, child `v1net` (10.2.0.0/16 <-> 10.1.0.0/16).

# Our side of the tunnel (statements of a slow path config).
v1_conn_statements() {
  cat <<CONF
conn v1 local 192.0.2.1 remote 192.0.2.2 local-id ip:192.0.2.1 remote-id ip:192.0.2.2 auth psk gw ike aes128-sha1-modp1024 version 1 dpd 0s add
child v1net conn v1 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1
CONF
}

# strongSwan's side (a conn of swanctl.conf): DPD every second, cleared (not restarted) when
# unanswered, so that a lost ISAKMP SA shows as a gone tunnel instead of a new Main Mode.
swan_v1_conn() {
  printf '  v1 {\n    version = 1\n    local_addrs = 192.0.2.2\n    remote_addrs = 192.0.2.1\n'
  printf '    proposals = aes128-sha1-modp1024\n    encap = yes\n    dpd_delay = 1s\n'
  printf '    rekey_time = 0\n'
  printf '    local { auth = psk\n      id = 192.0.2.2 }\n    remote { auth = psk\n      id = 192.0.2.1 }\n'
  printf '    children { v1net { local_ts = 10.2.0.0/16\n        remote_ts = 10.1.0.0/16\n'
  printf '        rekey_time = 0\n        dpd_action = clear\n        esp_proposals = aes128-sha1 } }\n  }\n'
}
