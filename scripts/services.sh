#!/usr/bin/env bash
# Start PostgreSQL and MariaDB on this machine if they are installed and not answering. Idempotent.
set -uo pipefail
wait_for() {  # name, check command
  for _ in $(seq 1 30); do eval "$2" >/dev/null 2>&1 && { echo "==> $1 is up"; return 0; }; sleep 1; done
  echo "==> $1 did not come up" >&2; return 1
}
if command -v pg_ctlcluster >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    echo "==> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432"
fi
if [ -x /usr/sbin/mariadbd ]; then
  if ! mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
    echo "==> starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  wait_for MariaDB "mariadb-admin -h 127.0.0.1 -u root ping"
fi
if command -v redis-server >/dev/null 2>&1; then  # the Celery broker of `yiwang cluster` (tests/cluster)
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "==> starting Redis"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null || true
  fi
  wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"
fi
exit 0
