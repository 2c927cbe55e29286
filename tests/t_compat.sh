#!/bin/sh
# Results files of an earlier format are read but never resumed (format 2 changed the
# random layout: resuming would mix two releases' draws in one file). The fixtures
# tests/fixtures/release1-*.h5.gz were made by git 5c551d4 (format 1) with --max-tasks 10,
# journals included.
# (a) release1-varpro: `run` refuses it (exit 2, one line naming the file and format 1,
#     file and journal untouched); status says which format and release made it and how
#     to finish it; aggregate and the Python loader read its 10 rows.
# (b) release1-auto: refused the same way (the old nn_method = classic hint no longer
#     applies: no nn_method makes a format-1 file resumable).
# (c) a file that says it is of a newer format (99): run and status refuse it, untouched.
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
sums() { cat "$1" "$1.journal" 2>/dev/null | cksum; }

# refused FILE JOB RANKS PATTERN WHAT: exit 2, one line matching PATTERN, untouched
refused() {
    before=$(sums "$1")
    mpirun -np "$3" "$bin" run "$2" -o "$1" >"$work/r.log" 2>&1; st=$?
    [ "$st" = 2 ] && grep -q "$4" "$work/r.log" && [ "$(grep -c "^lazysweep" "$work/r.log")" = 1 ] &&
        ok || bad "$5: exit $st, want 2 and one line with '$4': $(cat "$work/r.log")"
    [ "$(sums "$1")" = "$before" ] && ok || bad "$5: the refused file or its journal changed"
}

# (a)
refused "$work/varpro.h5" "$work/varpro.ini" 2 "made by an earlier lazysweep release (results format 1" \
    "release-1 varpro file"
grep -q "varpro.h5" "$work/r.log" && ok || bad "the refusal does not name the file: $(cat "$work/r.log")"
"$bin" status "$work/varpro.h5" >"$work/st.txt" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "^format: " "$work/st.txt" &&
    grep -q "does not resume it" "$work/st.txt" &&
    grep -q "resume it with the release that made it" "$work/st.txt" && ok ||
    bad "status on an incomplete format-1 file: exit $st, want 2: $(cat "$work/st.txt")"
"$bin" aggregate "$work/varpro.h5" --csv "$work/c.csv" >/dev/null 2>&1 && ok ||
    bad "aggregate on a format-1 file"
"$py" "$top/analysis/lazysweep.py" "$work/varpro.h5" --csv "$work/p.csv" >/dev/null 2>&1 &&
    cmp -s "$work/c.csv" "$work/p.csv" && ok || bad "Python summary differs from aggregate on a format-1 file"
"$py" - "$work/varpro.h5" <<'EOF' && ok || bad "loader on a format-1 file: 10 done rows, alpha/eta NaN, restarts >= 0"
import sys
sys.path.insert(0, "analysis")
import lazysweep as ls, numpy as np
df = ls.load(sys.argv[1])
assert int(df["done"].sum()) == 10, df["done"].sum()
assert np.isnan(df["alpha"]).all() and np.isnan(df["eta"]).all()
assert (df["restarts"] >= 0).all()
EOF

# (b)
refused "$work/auto.h5" "$work/auto.ini" 1 "results format 1" "release-1 auto file"
sed -i 's/^\[train\]$/[train]\nnn_method = classic/' "$work/auto.ini"
refused "$work/auto.h5" "$work/auto.ini" 1 "results format 1" "release-1 auto file with classic"

# (c)
"$py" - "$work/varpro.h5" <<'EOF' || bad "could not mark the file as format 99"
import sys, h5py
with h5py.File(sys.argv[1], "r+", locking=False) as f:
    f.attrs["format_version"] = 99
EOF
refused "$work/varpro.h5" "$work/varpro.ini" 1 "of a newer format (99; this release reads 1 to 2)" \
    "a format-99 file"
before=$(sums "$work/varpro.h5")
"$bin" status "$work/varpro.h5" >"$work/st2.txt" 2>&1; st=$?
[ "$st" = 2 ] && grep -q "newer format" "$work/st2.txt" && ok ||
    bad "status on a format-99 file: exit $st, want 2: $(cat "$work/st2.txt")"
[ "$(sums "$work/varpro.h5")" = "$before" ] && ok || bad "status changed a format-99 file"

echo "compat: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
