#!/bin/sh
# bench/plan_check.sh: `lazysweep plan`'s core-hours against what the jobs measure.
#
#   sh bench/plan_check.sh [JOB.ini ...]     (default: every jobs/*.ini and bench/mixed.ini)
#
# Runs each job on 1 rank (rank 0 runs every task itself: per-task seconds on one core),
# then `lazysweep plan --calibrate` prints predicted vs measured seconds per regime family;
# the summary line per job is predicted / measured core-hours (the sum of the tasks'
# recorded seconds). Exit 1 if any ratio is outside [0.5, 2], 2 on a failed run.
# Jobs too long for a benchmark run as scaled copies (PLAN_CHECK_FULL=1: as they are):
#   paper-quadratic             1 replicate, N = 30, 120, 450, 1342, 2000 SGD steps
#                               (drops at the same fractions), curve_points 0
#   paper-quadratic-reduced     1 replicate, 5000 SGD steps (drops at the same fractions)
#   paper-quadratic-population  1 replicate
#   kernel-limits               1 replicate
# The model's prediction is for the copy that ran. Seconds inflate when other processes
# share the cores: the load average is printed with each job, and the run's CPU share
# (CPU seconds / wall seconds of the whole command, mpirun's start included, by
# /usr/bin/time; ~0.9-1 on an idle machine for jobs of more than a few seconds).
# Environment: LAZYSWEEP (build/lazysweep), MPIRUN (mpirun --oversubscribe),
# PLAN_CHECK_OUT (build/bench/out/plan_check), PLAN_CHECK_FULL (0).
set -u
LS=${LAZYSWEEP:-build/lazysweep}
MPIRUN=${MPIRUN:-mpirun --oversubscribe}
OUT=${PLAN_CHECK_OUT:-build/bench/out/plan_check}
FULL=${PLAN_CHECK_FULL:-0}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 LAZYSWEEP_BLAS_THREADS=1
mkdir -p "$OUT"

[ $# -gt 0 ] || set -- jobs/*.ini bench/mixed.ini

# The scaled copy of a long job (or the job itself), path on stdout.
scaled() {
    name=$(basename "$1" .ini)
    [ "$FULL" = 1 ] && { echo "$1"; return; }
    case $name in
        paper-quadratic)
            sed -e 's/^replicates *=.*/replicates = 1/' \
                -e '/^N *=/,/^n *=/{/^n *=/!d}' -e 's/^n *= *inf/N = 30, 120, 450, 1342\nn = inf/' \
                -e 's/^nn_steps *=.*/nn_steps = 2000/' \
                -e 's/^nn_lr_drops *=.*/nn_lr_drops = 1400:0.1, 1700:0.0666666666666667/' \
                -e 's/^curve_points *=.*/curve_points = 0/' "$1" >"$OUT/$name.ini" ;;
        paper-quadratic-reduced)
            sed -e 's/^replicates *=.*/replicates = 1/' -e 's/^nn_steps *=.*/nn_steps = 5000/' \
                -e 's/^nn_lr_drops *=.*/nn_lr_drops = 3500:0.1, 4250:0.0666666666666667/' \
                "$1" >"$OUT/$name.ini" ;;
        paper-quadratic-population|kernel-limits)
            sed -e 's/^replicates *=.*/replicates = 1/' "$1" >"$OUT/$name.ini" ;;
        *) echo "$1"; return ;;
    esac
    echo "$OUT/$name.ini"
}

status=0
summary=""
for job in "$@"; do
    name=$(basename "$job" .ini)
    run=$(scaled "$job")
    res="$OUT/$name.h5"
    rm -f "$res" "$res.journal" "$res.lock"
    load0=$(cut -d' ' -f1 /proc/loadavg)
    timer=""
    [ -x /usr/bin/time ] && timer="/usr/bin/time -f %e_%U_%S -o $OUT/$name.time"
    # shellcheck disable=SC2086
    if ! $timer $MPIRUN -np 1 "$LS" run "$run" -o "$res" --quiet >"$OUT/$name.log" 2>&1; then
        echo "plan_check: $name: lazysweep run failed (log $OUT/$name.log)"
        status=2
        continue
    fi
    load1=$(cut -d' ' -f1 /proc/loadavg)
    share=-
    [ -s "$OUT/$name.time" ] && share=$(tr '_' ' ' <"$OUT/$name.time" | awk 'NF == 3 && $1 > 0 { printf "%.2f", ($2 + $3) / $1 }')
    echo "== $name ($run; load average $load0 before, $load1 after; CPU share $share)"
    "$LS" plan --calibrate "$res" "$run" >"$OUT/$name.calibrate" 2>&1 || status=2
    sed -n '2,$p' "$OUT/$name.calibrate"
    line=$(grep '^total:' "$OUT/$name.calibrate")
    meas=$(echo "$line" | sed 's/.*measured \([^ ]*\) core-hours.*/\1/')
    pred=$(echo "$line" | sed 's/.*predicted \([^ ]*\) (.*/\1/')
    ratio=$(echo "$line" | sed 's/.*ratio \([^;]*\);.*/\1/')
    ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5 && r <= 2) ? "ok" : "OUT OF [0.5, 2]" }')
    [ "$ok" = ok ] || { [ $status = 0 ] && status=1; }
    summary="$summary$(printf '%-28s %12s %12s %7s  %s (load %s, CPU share %s)' "$name" "$pred" "$meas" "$ratio" "$ok" "$load1" "$share")
"
done
echo
echo "== plan vs measured core-hours (1 rank; sum of the tasks' seconds)"
printf '%-28s %12s %12s %7s\n' job predicted measured ratio
printf '%s' "$summary"
case $status in
    0) echo "plan_check: every ratio within [0.5, 2]" ;;
    1) echo "plan_check: SOME RATIO OUTSIDE [0.5, 2]" ;;
    *) echo "plan_check: SOME RUN FAILED" ;;
esac
exit $status
