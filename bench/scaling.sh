#!/bin/sh
# bench/scaling.sh: one job on 1 rank against P ranks, with the results compared.
#
#   sh bench/scaling.sh LAZYSWEEP JOB OUTDIR P1 [P2 ...]
#
# Runs `LAZYSWEEP run JOB` under $MPIRUN (default: mpirun --oversubscribe) on each rank
# count (fresh results file each), and prints one row per count: ranks, workers (ranks - 1
# for P > 1: rank 0 only hands out tasks; one rank is master and worker at once), the
# run's wall time as the master reports it (LAZYSWEEP_REPORT_MASTER_CPU=1: from the
# first task handed out to the last result, without mpirun's start-up), tasks per second,
# the speedup over the first row, the efficiency per worker and per rank relative to the
# first row, the master's CPU share, and whether the results equal the first row's:
# `lazysweep aggregate --csv` byte for byte, and when /usr/bin/python3 has h5py, every
# science field of /results bitwise (tests/h5compare.py).
# Exit status: 0 when every run completed and every comparison held.
set -u
LS=$1 JOB=$2 DIR=$3
shift 3
MPIRUN=${MPIRUN:-mpirun --oversubscribe}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
H5CMP=$HERE/../tests/h5compare.py
mkdir -p "$DIR"
h5ok=0
[ -f "$H5CMP" ] && "$PY" -c 'import h5py' 2>/dev/null && h5ok=1
ntasks=$("$LS" plan "$JOB" | awk '/^tasks:/ {print $2; exit}')
status=0
printf '%6s %8s %10s %10s %8s %9s %9s %8s  %s\n' ranks workers "run s" "tasks/s" speedup \
    "eff/wkr" "eff/rank" "master%" "same results"
first="" t1="" w1=""
for P in "$@"; do
    out=$DIR/np$P.h5
    rm -f "$out" "$out.journal" "$out.lock"
    # shellcheck disable=SC2086
    if ! env LAZYSWEEP_REPORT_MASTER_CPU=1 $MPIRUN -np "$P" "$LS" run "$JOB" -o "$out" --quiet \
        >"$DIR/np$P.log" 2>&1; then
        echo "scaling: run on $P ranks failed: $MPIRUN -np $P $LS run $JOB -o $out" >&2
        cat "$DIR/np$P.log" >&2
        status=1
        continue
    fi
    line=$(grep 'master cpu' "$DIR/np$P.log")
    wall=$(echo "$line" | awk '{print $7}')
    mcpu=$(echo "$line" | awk '{gsub(/[()%,]/, "", $10); print $10}')
    w=$((P > 1 ? P - 1 : 1))
    "$LS" aggregate "$out" --csv "$DIR/np$P.csv" >/dev/null
    same="(reference)"
    if [ -z "$first" ]; then
        first=$P t1=$wall w1=$w
    else
        if cmp -s "$DIR/np$first.csv" "$DIR/np$P.csv"; then same="csv identical"; else same="CSV DIFFERS"; status=1; fi
        if [ $h5ok = 1 ]; then
            if "$PY" "$H5CMP" "$DIR/np$first.h5" "$out" >"$DIR/np$P.cmp" 2>&1; then
                same="$same, /results bitwise equal"
            else
                same="$same, /RESULTS DIFFER"
                status=1
            fi
        fi
    fi
    # Master CPU share is meaningless on 1 rank (master and worker are one process).
    [ "$P" = 1 ] && mcpu="-"
    awk -v P="$P" -v w="$w" -v t="$wall" -v t1="$t1" -v w1="$w1" -v p1="$first" -v r="$ntasks" -v m="$mcpu" \
        -v s="$same" 'BEGIN {
            sp = t1 / t
            printf "%6d %8d %10.2f %10.1f %8.2f %9.2f %9.2f %8s  %s\n", P, w, t, r / t, sp,
                   sp * w1 / w, sp * p1 / P, m, s }'
done
exit $status
