#!/bin/sh
# A short engine run built with the sanitizers (the build/san tree that `make check`
# builds with `make san`; its unit tests run there too, in `make san-unit`):
# out-of-bounds accesses, use after free and undefined behaviour fail. Runs: the faults
# job on 3 ranks, an interrupted engine run and its resume, status, aggregate, repair.
# SKIP when build/san is missing (make san).
top=$(pwd)
san=$top/build/san
bin=$san/lazysweep
logs=$top/build/tests/logs/sanitize
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if [ ! -x "$bin" ]; then
    echo "SKIP sanitize: no $bin (run make san)"
    echo "sanitize: 0 passed, 0 failed"
    exit 0
fi
mkdir -p "$logs"
work=$(mktemp -d /tmp/lazysweep-san.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=0
RUN() { # NP WANT ARGS...
    np=$1; want=$2; shift 2
    case_log=$logs/run$pass-$fail.log
    if [ "$np" = 0 ]; then set -- "$bin" "$@"; else set -- mpirun -np "$np" -x ASAN_OPTIONS -x UBSAN_OPTIONS "$bin" "$@"; fi
    timeout -k 5 300 "$@" >"$case_log" 2>&1; st=$?
    if [ "$st" = "$want" ] && ! grep -q -E "AddressSanitizer|runtime error" "$case_log"; then ok
    else bad "exit $st (want $want) or a sanitizer report: $* (log $case_log)"; grep -m 3 -E "ERROR|runtime error" "$case_log"; fi
}
RUN 3 0 run "$top/tests/jobs/faults.ini" -o "$work/f.h5" -q
RUN 2 3 run "$top/tests/jobs/engine.ini" -o "$work/e.h5" -q --max-tasks 40
RUN 0 3 run "$top/tests/jobs/engine.ini" -o "$work/e.h5" -q --max-tasks 20
RUN 0 3 status "$work/e.h5"
RUN 0 0 aggregate "$work/e.h5" --csv "$work/e.csv"
RUN 0 0 repair "$work/e.h5"
echo "sanitize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
