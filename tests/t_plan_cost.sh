#!/bin/sh
# plan's cost model on a tiny finished job: `plan` prints the core-hours with their parts,
# `plan --calibrate FILE JOB` prints one line per regime family of the job (counts equal
# to the job's tasks), the total and the suggested rates, and refuses a file of another
# job (exit 2). Structure only: no timing thresholds (speed: bench/plan_check.sh).
top=$(pwd)
bin=$top/build/lazysweep
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cat >"$work/tiny.ini" <<'INI'
[sweep]
name = tiny-cost
seed = 3
[model]
kind = quadratic
[grid]
d = 8
N = 2, 4
n = 50, inf
regime = rf, nt, nn
[train]
nn_method = varpro
nn_steps = 50
[eval]
test_samples = 100
INI
sed 's/seed = 3/seed = 4/' "$work/tiny.ini" >"$work/other.ini"
"$bin" plan "$work/tiny.ini" >"$work/plan.out" 2>&1 || bad "plan exited $?"
grep -q '^estimated total: .* core-hours (tasks .*, data draws .* for 1 training and 1 target/test groups' \
    "$work/plan.out" && ok || bad "plan's estimate line: $(grep estimated "$work/plan.out")"
"$bin" run "$work/tiny.ini" -o "$work/tiny.h5" -q >"$work/run.out" 2>&1 || bad "run exited $?"
"$bin" plan --calibrate "$work/tiny.h5" "$work/tiny.ini" >"$work/cal.out" 2>&1 || bad "calibrate exited $?"
# 2 widths x 1 replicate: 2 tasks in each (regime, n) family; a seed is another job
for fam in "rf n<inf" "nt n<inf" "nn-varpro n<inf" "rf n=inf" "nt n=inf" "nn-varpro n=inf"; do
    grep -q "^$fam  *2 " "$work/cal.out" && ok || bad "no line for '$fam' with 2 tasks"
done
[ "$(grep -c ' n[<=]inf  ' "$work/cal.out")" = 6 ] && ok || bad "six family lines expected"
grep -q '^calibrate: .* (12 done tasks, 0 not done' "$work/cal.out" && ok || bad "header: $(head -1 "$work/cal.out")"
grep -q '^total: measured .* core-hours, predicted .* ratio [0-9.]*; whole job predicted' "$work/cal.out" \
    && ok || bad "total line"
grep -q '^suggested rates .* dense [0-9.e+-]* (now ' "$work/cal.out" && ok || bad "suggested rates line"
"$bin" plan --calibrate "$work/tiny.h5" "$work/other.ini" >"$work/wrong.out" 2>&1
[ $? = 2 ] && ok || bad "a file of another job: exit 2 expected"
"$bin" plan --calibrate "$work/missing.h5" "$work/tiny.ini" >/dev/null 2>&1
[ $? = 2 ] && ok || bad "a missing file: exit 2 expected"
[ $fail = 0 ] || cat "$work/cal.out"
echo "plan_cost: $pass passed, $fail failed"
[ $fail = 0 ]
