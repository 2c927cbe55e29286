#!/bin/sh
# The regimes beyond the paper through the engine (SPEC §6-8): tests/jobs/beyond.ini (alpha,
# alpha_lin, onestep, krr_rf, krr_nt and rf, both models, finite n and n = inf) on 1 and
# 3 ranks gives bitwise-identical files; every task is done; status counts them by stop,
# aggregate and the Python summary agree, and plot.py draws the alpha figure from the file.
top=$(pwd)
bin=$top/build/lazysweep
py=${PYTHON:-/usr/bin/python3}
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
work=$(mktemp -d /tmp/t_beyond.XXXXXX); trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
job=$top/tests/jobs/beyond.ini
for np in 1 3; do
    mpirun -np $np "$bin" run "$job" -o "$work/r$np.h5" -q >"$work/r$np.log" 2>&1; st=$?
    [ "$st" = 0 ] && ok || bad "$np ranks: exit $st: $(tail -n 3 "$work/r$np.log")"
done
"$py" "$top/tests/h5compare.py" "$work/r1.h5" "$work/r3.h5" >"$work/cmp.log" 2>&1 && ok ||
    bad "1 vs 3 ranks differ: $(head -n 5 "$work/cmp.log")"
"$bin" status "$work/r3.h5" >"$work/st.txt" 2>&1; st=$?
[ "$st" = 0 ] && grep -q "^done by stop:" "$work/st.txt" && ok || bad "status: exit $st: $(cat "$work/st.txt")"
"$bin" aggregate "$work/r3.h5" --csv "$work/c.csv" >/dev/null 2>&1 && ok || bad "aggregate"
"$py" "$top/analysis/lazysweep.py" "$work/r3.h5" --csv "$work/p.csv" >/dev/null 2>&1 &&
    cmp -s "$work/c.csv" "$work/p.csv" && ok || bad "Python summary differs from aggregate"
# one CSV row per (model, d, N, n, regime, alpha/eta): alpha 2 values, eta 3, krr no width
rows=$(($(wc -l <"$work/c.csv") - 1))
want=$((2 * 2 * (2 * (2 + 2 + 3 + 1)) + 2 * 2 * 2))
[ "$rows" = "$want" ] && ok || bad "aggregate rows: $rows, want $want"
"$py" "$top/analysis/plot.py" "$work/r3.h5" -o "$work/a.png" >/dev/null 2>&1 && [ -s "$work/a.png" ] && ok ||
    bad "plot.py (alpha figure)"
"$py" - "$work/r3.h5" <<'PY' && ok || bad "stored fields of the new regimes"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r", locking=False)
t, r, s = f["tasks"][()], f["results"][()], f["status"][()]
names = {v: k for k, v in h5py.check_enum_dtype(f["tasks"].dtype["regime"]).items()}
reg = np.array([names[v] for v in t["regime"]])
assert (s == 1).all()
al = np.isin(reg, ["alpha", "alpha_lin"])
assert np.isfinite(t["alpha"][al]).all() and np.isnan(t["alpha"][~al]).all()
assert np.isfinite(r["t_final"][al]).all() and (r["dead"][al] >= 0).all()
os_ = reg == "onestep"
assert np.isfinite(r["step_norm"][os_]).all() and np.isnan(t["eta"][~os_]).all()
assert (t["N"][np.isin(reg, ["krr_rf", "krr_nt"])] == 0).all()
w1 = [i for i in np.where(os_)[0]]
assert all("W1" in f["weights/task_%d" % i] for i in w1)
PY
echo "beyond: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
