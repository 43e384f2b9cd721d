#!/usr/bin/env bash
# Fails unless the services named by the test environment answer. The tests would fail too, but
# later and less clearly; CI must never pass by silently skipping the database tests.
set -euo pipefail

check_tcp() { # name host port
  if ! (exec 3<>"/dev/tcp/$2/$3") 2>/dev/null; then
    echo "error: $1 is not reachable on $2:$3" >&2
    return 1
  fi
  echo "ok: $1 on $2:$3"
}

hostport() { # URL -> "host port"
  local rest=${1#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  echo "${rest%%:*} ${rest##*:}"
}

[ -n "${SOCKHUB_TEST_MYSQL_URL:-}" ] && check_tcp MariaDB $(hostport "$SOCKHUB_TEST_MYSQL_URL")
[ -n "${SOCKHUB_TEST_POSTGRES_URL:-}" ] && check_tcp PostgreSQL $(hostport "$SOCKHUB_TEST_POSTGRES_URL")
[ -n "${SOCKHUB_TEST_NATS_URL:-}" ] && check_tcp NATS $(hostport "$SOCKHUB_TEST_NATS_URL")
exit 0
