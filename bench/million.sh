#!/bin/sh
# bench/million.sh: the engine at 10^6 tasks (bench/million.ini, `null` regime): wall time
# and peak resident memory of plan, run on 3 ranks (stopped half way with --max-tasks),
# the resume, status, aggregate and repair (which compacts the journal), and the peak
# memory of each rank (workers must not grow with the task count).
#   sh bench/million.sh [LAZYSWEEP] [OUTDIR]
LS=${1:-build/lazysweep}
DIR=${2:-/tmp/lazysweep-million}
JOB=$(dirname "$0")/million.ini
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export LAZYSWEEP_REPORT_MASTER_CPU=1
mkdir -p "$DIR"
rm -f "$DIR"/m.h5*
measure() { # NAME COMMAND...: one line with wall time and peak RSS (largest process)
    name=$1; shift
    /usr/bin/time -f "%e %M" -o "$DIR/$name.time" "$@" >"$DIR/$name.log" 2>&1
    st=$?
    set -- $(cat "$DIR/$name.time" | tail -n 1)
    printf '%-10s exit %d  %8.2f s  peak %8.1f MiB\n' "$name" "$st" "$1" "$(echo "$2 / 1024" | bc -l)"
}
measure plan "$LS" plan "$JOB" --show 0
measure run mpirun -np 3 "$LS" run "$JOB" -o "$DIR/m.h5" -q --max-tasks 500000
grep -h "peak resident\|master cpu" "$DIR/run.log" | sed 's/^/           /'
measure status "$LS" status "$DIR/m.h5"
measure resume mpirun -np 3 "$LS" run "$JOB" -o "$DIR/m.h5" -q
grep -h "peak resident\|master cpu\|compacted" "$DIR/resume.log" | sed 's/^/           /'
measure status2 "$LS" status "$DIR/m.h5"
measure aggregate "$LS" aggregate "$DIR/m.h5" --csv "$DIR/m.csv"
ls -l "$DIR/m.h5" "$DIR/m.h5.journal" | awk '{printf "           %s %.1f MiB\n", $9, $5 / 1048576}'
measure repair "$LS" repair "$DIR/m.h5"
ls -l "$DIR/m.h5.journal" | awk '{printf "           after repair (compacted): %.1f MiB\n", $5 / 1048576}'
