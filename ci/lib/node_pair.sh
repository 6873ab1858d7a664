# Two of our nodes, A and B, each with a slow path on $work/spA.sock / $work/spB.sock running
# two VRRP instances, `up` and `down`, in one sync group (ci/vrrp_pair.sh, ci/ha_failover.sh):
# which node is master, as their slow paths say. Source it after setting BIN and work.

# A node's state of one instance (master, backup, fault), or `none` if it does not answer.
state() { # node instance
  "$BIN/slowpath-ctl" -s "$work/sp$1.sock" --json instances 2>/dev/null |
    python3 -c "import json,sys; print(next(i['state'] for i in json.load(sys.stdin) if i['name']=='$2'))" 2>/dev/null || echo none
}
master_of_both() { [ "$(state "$1" up)" = master ] && [ "$(state "$1" down)" = master ]; }
not_master() { # node: backup or fault of both (or not running)
  local u d; u=$(state "$1" up); d=$(state "$1" down)
  [ "$u" != master ] && [ "$d" != master ]
}
exactly_one_master() {
  local n=0
  for x in A B; do for i in up down; do [ "$(state $x $i)" = master ] && n=$((n + 1)); done; done
  [ $n -eq 2 ] && { master_of_both A || master_of_both B; }
}
# The node that is master of both instances, or nothing.
master_node() {
  local x
  for x in A B; do if master_of_both $x; then echo $x; return; fi; done
}
