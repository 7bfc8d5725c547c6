#!/usr/bin/env bash
# Run tarry's benchmarks REPS times each and append one JSON line per run to
# results/<bench>.jsonl, in the same wrapper format as shared/bench
# ({"bench", "rep", "process_wall_s", "commit", "result": <the script's line>}),
# so the shared summarize.py reads them too.
#
# Usage: ./run_all.sh [REPS=3] [GROUP=main]
#   GROUP: main  - W1 (500 steps), W2 (200 flows), W6 (recovery with `tarry worker --burst`)
#          extra - W6 with the recover script; W6 with a warm bytecode cache (see
#                  below); W1/W2 with TARRY_SQLITE_SYNCHRONOUS=NORMAL
#          all   - both
# W6 times process start-up. If PYTHONDONTWRITEBYTECODE is set and the venv has
# no .pyc files, every start compiles tarry, typer, rich and pydantic from
# source; tarry-w6-pyc therefore also runs with .pyc files cached under
# $BENCH_PYCACHE (default $TMPDIR/tarry-bench-pycache; nothing is written to
# the venv or the repository).
# Env: TARRY_PY (default ../.venv/bin/python), RESULTS_DIR (default ./results),
#      BENCH_WORKDIR (parent folder of the temporary databases).
set -u
cd "$(dirname "$0")"
REPS=${1:-3}
GROUP=${2:-main}
PY=${TARRY_PY:-../.venv/bin/python}
RESULTS_DIR=${RESULTS_DIR:-results}
PYCACHE=${BENCH_PYCACHE:-${TMPDIR:-/tmp}/tarry-bench-pycache}
mkdir -p "$RESULTS_DIR/logs"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- ../src 2>/dev/null)" ]; then COMMIT="$COMMIT+dirty"; fi

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
  run tarry-w6 -- "$PY" w6_crash_recovery.py cli
}

extra_group() {
  run tarry-w6-script -- "$PY" w6_crash_recovery.py script
  local pyc=(PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX="$PYCACHE")
  env "${pyc[@]}" "$PY" w6_crash_recovery.py cli >/dev/null 2>&1   # fill the cache
  run tarry-w6-pyc "${pyc[@]}" -- "$PY" w6_crash_recovery.py cli
  run tarry-w1-normal TARRY_SQLITE_SYNCHRONOUS=NORMAL -- "$PY" w1_task_overhead.py 500
  run tarry-w2-normal TARRY_SQLITE_SYNCHRONOUS=NORMAL -- "$PY" w2_workflow_start.py 200
}

case "$GROUP" in
  main) main_group ;;
  extra) extra_group ;;
  all) main_group; extra_group ;;
  *) echo "unknown group $GROUP (main|extra|all)" >&2; exit 2 ;;
esac
