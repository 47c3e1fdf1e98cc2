#!/usr/bin/env bash
# Starts the web app (gunicorn), a Celery worker with embedded beat; Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-true}
mkdir -p var/celery/queue var/celery/processed var/celery/control

"$BIN/python" manage.py collectstatic --noinput >/dev/null

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping…"
  kill "${pids[@]}" 2>/dev/null || true
  # A Celery worker can hang in warm shutdown; give everything 10 s, then force it.
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  pkill -KILL -P "$$" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/celery" -A retention worker --beat --loglevel=INFO --concurrency=2 --schedule var/celerybeat-schedule &
pids+=($!)
"$BIN/gunicorn" retention.wsgi:application --bind "127.0.0.1:${PORT}" --workers "${WEB_CONCURRENCY:-3}" \
  --access-logfile - --graceful-timeout 5 &
pids+=($!)

echo
echo "Retention is running at http://127.0.0.1:${PORT}/   (API docs: http://127.0.0.1:${PORT}/api/docs/)"
cat var/demo-logins.txt 2>/dev/null || true
echo "Press Ctrl-C to stop the web server, the worker and beat."
wait -n "${pids[@]}"
