#!/bin/sh
# bench/run.sh: `make bench` — prints speed as ratios measured side by side in one run.
#
#   sh bench/run.sh BENCH_BINARIES...      (Makefile: build/bench/*)
#
#   1. kernels   each regime's kernels as a fraction of this machine's DGEMM rate
#                (build/bench/kernels; BLAS on 1 thread, as every lazysweep rank)
#   1b. NT solver rule  direct vs CG side by side (build/bench/nt_solvers)
#   1c. normals  rng_normal (build/bench/kernels --normals) against NumPy's
#                default_rng().standard_normal, alternately on one core (taskset), best of 3
#   2. headline  bench/headline.ini with default job settings against bench/straightforward.py
#                (what a user would write: explicit features + lstsq, fixed-step GD), CPU
#                seconds per regime and excess risk over each side's own class optimum
#   2b. end to end  bench/e2e.ini by lazysweep on 1 rank against bench/baseline.py
#                (NumPy/SciPy, the same BLAS on 1 thread) on one core each: wall-time
#                ratio, per-regime ratios, and a check that both computed the same numbers
#   3. ranks     bench/e2e.ini on 1 rank against 2 and 3 ranks (bench/scaling.sh), and
#                the dispatch rate of the `null` regime (bench/null.ini)
#   4. plan      `lazysweep plan`'s core-hours against the measured task seconds of every
#                job in jobs/ (long ones scaled down) and bench/mixed.ini, on 1 rank
#                (bench/plan_check.sh; fails when a ratio leaves [0.5, 2]); BENCH_PLAN=0
#                skips it (it takes minutes)
# Environment: LAZYSWEEP (default build/lazysweep), PYTHON (/usr/bin/python3), MPIRUN
# (mpirun --oversubscribe), BENCH_RANKS (default "1 2 3"), BENCH_OUT (build/bench/out).
# Absolute seconds are printed for context only; the headline numbers are ratios.
set -u
LS=${LAZYSWEEP:-build/lazysweep}
PY=${PYTHON:-/usr/bin/python3}
OUT=${BENCH_OUT:-build/bench/out}
RANKS=${BENCH_RANKS:-1 2 3}
export MPIRUN="${MPIRUN:-mpirun --oversubscribe}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 LAZYSWEEP_BLAS_THREADS=1
mkdir -p "$OUT"
status=0

now() { date +%s.%N; }

echo "== lazysweep bench: $(uname -n), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "   $($LS --version 2>&1 | head -1); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN {exit !(l > 0.5)}'; then
    echo "   NOTE: other processes are using this machine (load $load): ratios are taken side by"
    echo "   side and stay meaningful, but rank scaling on $(nproc) cores will be understated."
fi

echo
echo "== 1. kernels against DGEMM (1 thread, same BLAS; GFLOP/s = counted flops / time)"
for b in "$@"; do
    case $b in */kernels) "$b" || status=1 ;; esac
done
echo
echo "== 1b. NT solver rule: direct vs CG on the same ridgeless problems (regime_nt.c NT_CG_RATIO)"
for b in "$@"; do
    case $b in */nt_solvers) "$b" || status=1 ;; esac
done

echo
echo "== 1c. normals: rng_normal against NumPy's Generator.standard_normal (one core, best of 3)"
pin=""; command -v taskset >/dev/null 2>&1 && pin="taskset -c 0"
kern=""; for b in "$@"; do case $b in */kernels) kern=$b ;; esac; done
if [ -n "$kern" ]; then
    for i in 1 2 3; do
        $pin "$kern" --normals || status=1
        $pin "$PY" - <<'EOF' || status=1
import time, numpy as np
g, x = np.random.default_rng(1), np.empty(1 << 20)
g.standard_normal(out=x)
reps, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 0.25:  # as kernels --normals: repeat for 0.25 s
    g.standard_normal(out=x); reps += 1
rate = reps * x.size / (time.perf_counter() - t0)
print("numpy %s standard_normal: %.1f M normals/s (2^20 per call)" % (np.__version__, rate * 1e-6))
EOF
    done >"$OUT/normals.log" 2>&1
    cat "$OUT/normals.log"
    awk '/^rng_normal/ {if ($3 > l) l = $3; if ($4 > s) s = $4; if ($5 > r) r = $5; isa = $2; sub(":", "", isa)}
         /^numpy/ {if ($4 > n) n = $4}
         END {if (n > 0) printf "  HEADLINE normals: rng_normal %s / NumPy = %.2f (one call), %.2f (calls of 41), %.2f (rows of 41)\n", isa, l / n, s / n, r / n}' \
        "$OUT/normals.log"
fi

echo
echo "== 2. headline: default job settings (bench/headline.ini) against what a user would write"
echo "   in NumPy (bench/straightforward.py: explicit features + lstsq, fixed-step GD), 1 core each"
rm -f "$OUT/headline.h5" "$OUT/headline.h5.journal" "$OUT/headline.h5.lock"
$MPIRUN -np 1 "$LS" run bench/headline.ini -o "$OUT/headline.h5" --quiet >"$OUT/headline.log" 2>&1 || {
    echo "bench: lazysweep run failed:"; cat "$OUT/headline.log"; status=1; }
"$PY" bench/straightforward.py "$OUT/headline.h5" || status=1

echo
echo "== 2b. end to end: bench/e2e.ini, lazysweep on 1 rank vs NumPy baseline, 1 core each"
rm -f "$OUT/e2e.h5" "$OUT/e2e.h5.journal" "$OUT/e2e.h5.lock"
t0=$(now)
# shellcheck disable=SC2086
$MPIRUN -np 1 "$LS" run bench/e2e.ini -o "$OUT/e2e.h5" --quiet >"$OUT/e2e.log" 2>&1 || {
    echo "bench: lazysweep run failed:"; cat "$OUT/e2e.log"; status=1; }
t1=$(now)
"$PY" bench/baseline.py bench/e2e.ini "$OUT/e2e.h5" >"$OUT/baseline.log" 2>&1 || status=1
t2=$(now)
sed -n '2,$p' "$OUT/baseline.log"
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    ls = b - a; np = c - b
    printf "  whole command     NumPy %.2f s, lazysweep %.2f s (mpirun, HDF5 file, journal included)\n", np, ls
    printf "  HEADLINE end to end: NumPy / lazysweep wall time = %.2f  (> 1: lazysweep faster)\n", np / ls }'

echo
echo "== 3. ranks: bench/e2e.ini on $RANKS ranks (rank 0 is master only when P > 1)"
sh bench/scaling.sh "$LS" bench/e2e.ini "$OUT/scaling" $RANKS || status=1
echo
echo "   dispatch: bench/null.ini (20000 tasks of the null regime: scheduling, HDF5 rows, journal)"
sh bench/scaling.sh "$LS" bench/null.ini "$OUT/null" $RANKS || status=1

if [ "${BENCH_PLAN:-1}" != 0 ]; then
    echo
    echo "== 4. plan: estimated core-hours against measured task seconds (bench/plan_check.sh, 1 rank)"
    LAZYSWEEP=$LS PLAN_CHECK_OUT="$OUT/plan_check" sh bench/plan_check.sh || status=1
fi

echo
[ $status = 0 ] && echo "bench: done (results under $OUT)" || echo "bench: SOME BENCHMARK FAILED (logs under $OUT)"
exit $status
