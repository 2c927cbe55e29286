#!/bin/sh
# Each outside library has one home (STYLE point 3): MPI calls only in src/sched.c,
# HDF5 only in src/store*.c, CBLAS/LAPACKE only in src/linalg.c, SLEEF only in
# src/rng_simd.c, Random123 only in src/rng*.c; numerics (data, rng,
# linalg, regimes, risk, theory, task, nn, optim) include neither mpi.h nor hdf5.h.
# Every header starts with a comment saying what the module owns.
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
only_in() { # pattern allowed-file-regex what   (comment lines are ignored)
    found=""
    for f in src/*.c src/*.h include/*.h; do
        echo "$f" | grep -qE "$2" && continue
        grep -vE '^[[:space:]]*(/\*|\*)' "$f" | grep -qE "$1" && found="$found $f"
    done
    [ -z "$found" ] && ok || bad "$3 outside its home:$found"
}
only_in '\bMPI_[A-Z][a-z_]+ *\(' '^src/sched\.c$' "MPI calls"
only_in '\bH5[A-Z][a-z_]*[a-z]+ *\(' '^src/store[a-z_]*\.(c|h)$' "HDF5 calls"
only_in '#include *<hdf5\.h>' '^src/store[a-z_]*\.(c|h)$' "hdf5.h"
only_in '\bcblas_|LAPACKE_|#include *<(cblas|lapacke)\.h>' '^src/linalg\.c$' "CBLAS/LAPACKE"
only_in '\bSleef_|#include *<sleef\.h>' '^src/rng_simd\.c$' "SLEEF"
only_in '#include *<Random123/' '^src/rng(_simd)?\.c$' "Random123"
for f in src/data.c src/rng.c src/rng_simd.c src/linalg.c src/regime*.c src/risk.c src/theory.c src/task.c src/nn.c src/optim.c; do
    [ -e "$f" ] || continue
    grep -qE '#include *[<"](mpi|hdf5|sched|store)\.h[>"]' "$f" && bad "$f (numerics) includes MPI/HDF5/sched/store" || ok
done
for h in include/*.h; do
    head -n 1 "$h" | grep -q '^/\*' && ok || bad "$h does not start with a comment on what it owns"
done
# main.c stays a table of contents
[ "$(wc -l <src/main.c)" -lt 100 ] && ok || bad "src/main.c has grown past 100 lines"
echo "layout: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
