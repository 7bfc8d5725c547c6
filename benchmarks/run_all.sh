#!/usr/bin/env bash
# Run tarry's benchmarks REPS times each and append one JSON line per run to
# results/<bench>.jsonl, in the same wrapper format as shared/bench
# ({"bench", "rep", "process_wall_s", "commit", "result": <the script's line>}),
# so the shared summarize.py reads them too.
#
# Usage: ./run_all.sh [REPS=3] [GROUP=main]
#   GROUP: main  - W1 (500 steps), W2 (200 flows), W3 (20 pause->resume trials, resident
#                  and suspended), W5 (10 000 waiting runs, about 35 s each), W6
#                  (recovery with `tarry worker --burst`)
#          extra - W6 with the recover script; W6 with a warm bytecode cache (see
#                  below); W1/W2 with TARRY_SQLITE_SYNCHRONOUS=NORMAL; W5 with 1000
#                  waiting runs, and with 10 000 all kept resident (tuned settings)
#          waits - only the W3, W4 and W5 runs of main and extra
#          server - W3 over HTTP against `tarry server`, and the run list with 100 000 runs
#          postgres - W1, W2, W3 (resident and suspended) and W4 on PostgreSQL, each in a
#                  fresh schema of $BENCH_POSTGRES_URL
#                  (default postgresql://postgres@127.0.0.1:5432/tarry_test)
#          pg    - issue 8 on PostgreSQL across processes, each in a fresh schema of
#                  $BENCH_POSTGRES_URL: W1; W2 with 1, 2 and 4 `tarry worker` processes (runs
#                  created while they work, and a backlog drained); W3 (a run parked in a
#                  worker, answered through a `tarry server`); W4 (ping-pong between two
#                  workers); W5 (10 000 waiting runs over 2 workers, with the defaults and
#                  with TARRY_RESIDENT_SECONDS=0, 3 to 5 minutes per run). About 35 minutes.
#          pgw2  - only the W2 runs of pg (1, 2 and 4 workers, stream and backlog); about
#                  15 s per run
#          drip  - the email drip campaign: 10 000 recipients, real mail out and reply
#                  mails in, a 2-minute window (about 3 minutes per run)
#          fanout - 1,000 trivial tasks mapped in one flow: tarry on the thread pool (its
#                  default 6 threads here, and 32), a local Dask cluster and Ray (when
#                  tarry.task_runners.RayTaskRunner and ray are installed); with
#                  PREFECT_VENV set, Prefect 3.8.8 on the same workload (thread pool
#                  unbounded as by default, and 6 threads; prefect-dask when installed),
#                  heartbeats off. Each process runs 5 flows and reports their median
#          fanout-prefect - only the Prefect runs of fanout
#          all   - main and extra
# W6 times process start-up. If PYTHONDONTWRITEBYTECODE is set and the venv has
# no .pyc files, every start compiles tarry, typer, rich and pydantic from
# source; tarry-w6-pyc therefore also runs with .pyc files cached under
# $BENCH_PYCACHE (default $TMPDIR/tarry-bench-pycache; nothing is written to
# the venv or the repository).
# Env: TARRY_PY (default ../.venv/bin/python), RESULTS_DIR (default ./results),
#      BENCH_WORKDIR (parent folder of the temporary databases),
#      BENCH_SNAPSHOT=1 (benchmark a copy of HEAD's src/, not the working tree:
#      use it while someone edits src/; the +dirty check only looks at the start).
set -u
cd "$(dirname "$0")"
REPS=${1:-3}
GROUP=${2:-main}
PY=${TARRY_PY:-../.venv/bin/python}
RESULTS_DIR=${RESULTS_DIR:-results}
PYCACHE=${BENCH_PYCACHE:-${TMPDIR:-/tmp}/tarry-bench-pycache}
mkdir -p "$RESULTS_DIR/logs"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "${BENCH_SNAPSHOT:-0}" = 1 ]; then
  # Run against a copy of HEAD's src/ (git archive), so that edits made to src/
  # while the benchmarks run cannot mix into them; `commit` is then exact.
  SNAP=$(mktemp -d "${TMPDIR:-/tmp}/tarry-bench-src.XXXXXX")
  trap 'rm -rf "$SNAP"' EXIT
  git -C .. archive "$(git rev-parse HEAD)" src | tar -x -C "$SNAP"
  export PYTHONPATH="$SNAP/src${PYTHONPATH:+:$PYTHONPATH}"
  echo "benchmarking $("$PY" -c 'import tarry; print(tarry.__file__)') at $COMMIT" >&2
elif [ -n "$(git status --porcelain -- ../src 2>/dev/null)" ]; then
  COMMIT="$COMMIT+dirty"
fi

# run NAME [VAR=value ...] -- CMD ...
run() {
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  for i in $(seq 1 "$REPS"); do
    local log="$RESULTS_DIR/logs/$name.$i.log" t0 t1 line
    t0=$(date +%s.%N)
    line=$(env "${envs[@]}" "$@" 2>"$log" | grep '^{' | tail -1)
    t1=$(date +%s.%N)
    [ -n "$line" ] || line="{\"error\": \"no result, see $log\"}"
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    printf '{"bench": "%s", "rep": %d, "process_wall_s": %s, "commit": "%s", "result": %s}\n' \
      "$name" "$i" "$wall" "$COMMIT" "$line" >> "$RESULTS_DIR/$name.jsonl"
    echo "$name rep $i: ${line:0:400}"
  done
}

main_group() {
  run tarry-w1 -- "$PY" w1_task_overhead.py 500
  run tarry-w2 -- "$PY" w2_workflow_start.py 200
  waits_main
  run tarry-w6 -- "$PY" w6_crash_recovery.py cli
  server_group
}

server_group() {
  run tarry-w3-http -- "$PY" w3_http.py 20
  run tarry-run-list -- "$PY" run_list.py 100000 30
}

waits_main() {
  run tarry-w3 -- "$PY" w3_pause_resume.py 20 resident
  run tarry-w3-suspended -- "$PY" w3_pause_resume.py 20 suspended
  run tarry-w5 -- "$PY" w5_many_waiting.py 10000
  run tarry-w4 -- "$PY" w4_ping_pong.py 50
}

drip_group() {
  run tarry-drip-campaign -- "$PY" drip_campaign.py 10000
}

waits_extra() {
  run tarry-w5-1000 -- "$PY" w5_many_waiting.py 1000
  run tarry-w5-resident TARRY_MAX_RESIDENT_RUNS=20000 TARRY_RESIDENT_SECONDS=600 -- \
    "$PY" w5_many_waiting.py 10000
}

extra_group() {
  run tarry-w6-script -- "$PY" w6_crash_recovery.py script
  local pyc=(PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX="$PYCACHE")
  env "${pyc[@]}" "$PY" w6_crash_recovery.py cli >/dev/null 2>&1   # fill the cache
  run tarry-w6-pyc "${pyc[@]}" -- "$PY" w6_crash_recovery.py cli
  run tarry-w1-normal TARRY_SQLITE_SYNCHRONOUS=NORMAL -- "$PY" w1_task_overhead.py 500
  run tarry-w2-normal TARRY_SQLITE_SYNCHRONOUS=NORMAL -- "$PY" w2_workflow_start.py 200
  waits_extra
}

postgres_group() {
  local pg=(TARRY_DATABASE_URL="${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/tarry_test}")
  run tarry-w1-postgres "${pg[@]}" -- "$PY" w1_task_overhead.py 500
  run tarry-w2-postgres "${pg[@]}" -- "$PY" w2_workflow_start.py 200
  run tarry-w3-postgres "${pg[@]}" -- "$PY" w3_pause_resume.py 20 resident
  run tarry-w3-suspended-postgres "${pg[@]}" -- "$PY" w3_pause_resume.py 20 suspended
  run tarry-w4-postgres "${pg[@]}" -- "$PY" w4_ping_pong.py 50
}

pg_w2_group() {
  local pg=(TARRY_DATABASE_URL="${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/tarry_test}")
  local w
  for w in 1 2 4; do
    run "tarry-pg-w2-$w" "${pg[@]}" -- "$PY" pg_w2_workers.py 2000 "$w" stream
    run "tarry-pg-w2-backlog-$w" "${pg[@]}" -- "$PY" pg_w2_workers.py 2000 "$w" backlog
  done
}

pg_group() {
  local pg=(TARRY_DATABASE_URL="${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/tarry_test}")
  run tarry-pg-w1 "${pg[@]}" -- "$PY" w1_task_overhead.py 500
  pg_w2_group
  run tarry-pg-w3-cross "${pg[@]}" -- "$PY" pg_w3_cross.py 200
  run tarry-pg-w4-cross "${pg[@]}" -- "$PY" pg_w4_cross.py 200
  run tarry-pg-w5-2workers "${pg[@]}" -- "$PY" pg_w5_two_workers.py 10000
  run tarry-pg-w5-2workers-resident0 "${pg[@]}" TARRY_RESIDENT_SECONDS=0 -- \
    "$PY" pg_w5_two_workers.py 10000
}

fanout_group() {
  fanout_tarry
  fanout_prefect
}

fanout_tarry() {
  run tarry-fanout-thread -- "$PY" fanout.py --runner thread 1000
  run tarry-fanout-thread-32 -- "$PY" fanout.py --runner thread --workers 32 1000
  run tarry-fanout-dask -- "$PY" fanout.py --runner dask 1000
  if "$PY" -c 'import ray; from tarry.task_runners import RayTaskRunner' 2>/dev/null; then
    run tarry-fanout-ray -- "$PY" fanout.py --runner ray 1000
  fi
}

fanout_prefect() {
  [ -n "${PREFECT_VENV:-}" ] || return 0
  local pf=("$PREFECT_VENV/bin/python" prefect_fanout.py) hb=(BENCH_PREFECT_HEARTBEAT=off)
  run prefect-fanout-thread "${hb[@]}" -- "${pf[@]}" --runner thread 1000
  run prefect-fanout-thread-6 "${hb[@]}" -- "${pf[@]}" --runner thread --workers 6 1000
  if "$PREFECT_VENV/bin/python" -c 'import prefect_dask' 2>/dev/null; then
    run prefect-fanout-dask "${hb[@]}" -- "${pf[@]}" --runner dask 1000
  fi
}

case "$GROUP" in
  main) main_group ;;
  extra) extra_group ;;
  waits) waits_main; waits_extra ;;
  server) server_group ;;
  postgres) postgres_group ;;
  pg) pg_group ;;
  pgw2) pg_w2_group ;;
  drip) drip_group ;;
  fanout) fanout_group ;;
  fanout-prefect) fanout_prefect ;;
  all) main_group; extra_group ;;
  *) echo "unknown group $GROUP (main|extra|waits|server|postgres|pg|pgw2|drip|fanout|fanout-prefect|all)" >&2; exit 2 ;;
esac
