#!/bin/sh
# `lazysweep task JOB --id K` for every K of the demo grid: one JSON object each, whose
# keys include every field name of /tasks and /results of a real results file, and
# whose numbers equal the row that `lazysweep run` wrote for the same task.
top=$(pwd)
bin=$top/build/lazysweep
py=/usr/bin/python3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0; fail=0
count=$("$bin" plan jobs/demo.ini --show 0 | sed -n 's/^tasks: //p')
[ -n "$count" ] && [ "$count" -gt 0 ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL plan count"; }
k=0
while [ "$k" -lt "$count" ]; do
    if "$bin" task jobs/demo.ini --id "$k" >"$work/$k.json" 2>"$work/$k.err"; then :; else
        echo "FAIL: lazysweep task jobs/demo.ini --id $k exited $? ($(cat "$work/$k.err"))"; fail=$((fail + 1)); fi
    k=$((k + 1))
done
"$bin" run jobs/demo.ini -o "$work/demo.h5" -q 2>/dev/null || { echo "FAIL: run demo"; fail=$((fail + 1)); }
"$py" - "$work" "$count" <<'PY' || fail=$((fail + 1))
import json, math, sys
import h5py
work, count = sys.argv[1], int(sys.argv[2])
with h5py.File(work + "/demo.h5", "r", locking=False) as f:
    tasks, res = f["tasks"][()], f["results"][()]
    keys = set(tasks.dtype.names) | set(res.dtype.names)
    bad = 0
    for k in range(count):
        obj = json.load(open("%s/%d.json" % (work, k)))
        missing = keys - set(obj)
        if missing:
            print("FAIL: task %d: JSON lacks %s" % (k, sorted(missing))); bad += 1; continue
        if obj["id"] != k or obj["d"] != tasks["d"][k] or obj["N"] != tasks["N"][k]:
            print("FAIL: task %d: parameters differ from /tasks" % k); bad += 1
        for name in ("risk_pop", "risk_test", "risk_train", "r0", "theory", "iterations"):
            a, b = obj[name], float(res[name][k])
            if (a is None) != math.isnan(b) or (a is not None and a != b):
                print("FAIL: task %d %s: task says %r, run wrote %r" % (k, name, a, b)); bad += 1
    print("task_cli: %d tasks checked, %d problems" % (count, bad))
    sys.exit(1 if bad else 0)
PY
[ $fail -eq 0 ] && pass=$((pass + count))
echo "task_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
