# Shared by the namespace test scripts (source it): counted checks, bounded waits, a clock.
# The caller keeps `pass` and `fail` (both start at 0) and prints its own summary line.

# Runs a command as a named check and counts it.
check() { # name, command...
  local name=$1; shift
  if "$@"; then
    echo "ok: $name"; pass=$((pass + 1))
  else
    echo "FAILED: $name [$(date +%T.%3N)]"; fail=$((fail + 1)); failed_checks+="  $name"$'\n'
  fi
}

# The failed checks' names, printed last: a CI log is cut in its middle, so the end must say
# what failed.
failed_checks=""
print_failed_checks() {
  [ -z "$failed_checks" ] || printf 'failed checks:\n%s' "$failed_checks"
}

# Polls a condition (every WAIT_STEP s, 0.1 by default) for up to $1 seconds; its last try's
# status is the result.
wait_for() { # seconds, command...
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if "$@"; then return 0; fi
    sleep "${WAIT_STEP:-0.1}"
  done
  "$@"
}

now_ms() { date +%s%3N; }

# Waits (bounded) for a namespace's processes to end, then kills what is left.
reap_netns() { # namespace...
  local ns end
  for ns in "$@"; do
    end=$((SECONDS + 10))
    while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
}
