#!/bin/sh
# Results files made by an earlier release still resume (issue 12: "an existing results
# file from before this change still resumes"). tests/fixtures/release1-*.h5.gz were made
# by git 5c551d4 (format 1, before the stop codes, `restarts`, `error_floor`, the regimes
# beyond the paper and the alpha/eta task fields) with --max-tasks 10, journals included.
# (a) release1-varpro: resumes and completes (exit 0); the 10 old rows are kept bit for
#     bit, status, aggregate and the Python loader read the mixed file.
# (b) release1-auto (made with nn_method = auto, which then meant gd / population): refused
#     (exit 2, untouched, with the hint); with nn_method = classic it resumes and completes.
top=$(pwd)
bin=$top/build/lazysweep
py=${PYTHON:-/usr/bin/python3}
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
work=$(mktemp -d /tmp/t_compat.XXXXXX); trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fx=$top/tests/fixtures
for j in varpro auto; do
    gunzip -c "$fx/release1-$j.h5.gz" >"$work/$j.h5"
    cp "$fx/release1-$j.h5.journal" "$work/$j.h5.journal"
    cp "$fx/release1-$j.ini" "$work/$j.ini"
done

rows() { # FILE -> the /results rows of the done tasks, every field, as text
    "$py" - "$1" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r", locking=False) as f:
    r, s = f["results"][()], f["status"][()]
old = ("risk_train", "risk_test", "risk_pop", "r0", "error_test", "bayes_error", "theory",
       "iterations", "residual", "flops", "seconds", "rank", "attempts", "cause", "stop")
for i in np.where(s == 1)[0]:
    print(i, " ".join(repr(r[k][i].item()) for k in old))
EOF
}

# (a)
rows "$work/varpro.h5" >"$work/before.txt"
[ "$(wc -l <"$work/before.txt")" = 10 ] && ok || bad "fixture: $(wc -l <"$work/before.txt") done rows, want 10"
mpirun -np 2 "$bin" run "$work/varpro.ini" -o "$work/varpro.h5" >"$work/a.log" 2>&1; st=$?
[ "$st" = 0 ] && ok || bad "resume of a release-1 file: exit $st: $(tail -n 3 "$work/a.log")"
rows "$work/varpro.h5" >"$work/after.txt"
[ "$(wc -l <"$work/after.txt")" = 24 ] && ok || bad "after resume: $(wc -l <"$work/after.txt") done rows, want 24"
# the old rows, bit for bit (repr of every field)
while read -r line; do
    grep -qxF "$line" "$work/after.txt" || { bad "old row changed: $line"; break; }
done <"$work/before.txt" && ok
"$bin" status "$work/varpro.h5" >"$work/st.txt" 2>&1; st=$?
[ "$st" = 0 ] && grep -q "^done by stop:" "$work/st.txt" && ok || bad "status on the mixed file: exit $st: $(cat "$work/st.txt")"
"$bin" aggregate "$work/varpro.h5" --csv "$work/c.csv" >/dev/null 2>&1 && ok || bad "aggregate on the mixed file"
"$py" "$top/analysis/lazysweep.py" "$work/varpro.h5" --csv "$work/p.csv" >/dev/null 2>&1 &&
    cmp -s "$work/c.csv" "$work/p.csv" && ok || bad "Python summary differs from aggregate on the mixed file"
"$py" - "$work/varpro.h5" <<'EOF' && ok || bad "loader on the mixed file: old rows must read restarts 0, error_floor NaN, alpha NaN"
import sys
sys.path.insert(0, "analysis")
import lazysweep as ls, numpy as np
df = ls.load(sys.argv[1])
assert df["done"].all(), df["status"].value_counts()
assert np.isnan(df["alpha"]).all() and np.isnan(df["eta"]).all()
assert (df["restarts"] >= 0).all()
EOF

# (b)
sum=$(cksum <"$work/auto.h5")
mpirun -np 1 "$bin" run "$work/auto.ini" -o "$work/auto.h5" >"$work/b.log" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "resumes with nn_method = classic" "$work/b.log" && ok ||
    bad "release-1 file made with auto: exit $st, want 2 with the hint: $(cat "$work/b.log")"
[ "$(cksum <"$work/auto.h5")" = "$sum" ] && ok || bad "refused file changed"
sed -i 's/^\[train\]$/[train]\nnn_method = classic/' "$work/auto.ini"
mpirun -np 2 "$bin" run "$work/auto.ini" -o "$work/auto.h5" >"$work/b2.log" 2>&1; st=$?
[ "$st" = 0 ] && ok || bad "with nn_method = classic: exit $st: $(tail -n 3 "$work/b2.log")"

echo "compat: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
