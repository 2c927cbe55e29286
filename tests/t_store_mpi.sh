#!/bin/sh
# The results file under mpirun: 2 and 3 ranks writing disjoint rows independently;
# a reader (C, serial, and h5py with locking=False) on a file a job is writing; kill -9
# of mpirun and every rank at random moments (also during the create step), then the
# file is absent or verifies, and a resume on another rank count completes it; h5py
# reads /tasks, /results, /status with the public field names.
# One line per case; the exact command is printed on failure. Ends "N passed, N failed".
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
W=build/tests/test_store_writer
PY=${PYTHON:-/usr/bin/python3}
D=$(mktemp -d /tmp/t_store_mpi.XXXXXX)
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
RUN() { # NP CMD...: one case, mpirun with NP ranks
    np=$1; shift
    if mpirun --oversubscribe -np "$np" "$@" >"$D/last.log" 2>&1; then ok "RUN $np $*"
    else bad "RUN $np $* (log: $(tail -n 3 "$D/last.log" | tr '\n' ' '))"; fi
}
CHECK() { # CMD...: a serial check
    if "$@" >"$D/last.log" 2>&1; then ok "$* [$(tail -n 1 "$D/last.log")]"
    else bad "$* ($(tail -n 3 "$D/last.log" | tr '\n' ' '))"; fi
}

h5py_check() { # PATH T NP
    "$PY" - "$1" "$2" "$3" <<'EOF'
import sys, h5py, numpy as np
path, T, NP = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = h5py.File(path, "r", locking=False)
t, r, s = f["tasks"], f["results"], f["status"]
want_t = ("id", "model", "target", "d", "N", "n", "regime", "replicate")
want_r = ("risk_train", "risk_test", "risk_pop", "r0", "error_test", "bayes_error", "theory",
          "iterations", "residual", "flops", "seconds", "rank", "attempts", "cause", "stop",
          "restarts", "error_floor")
assert t.dtype.names == want_t, t.dtype.names
assert r.dtype.names == want_r, r.dtype.names
assert t.shape == r.shape == s.shape == (T,), (t.shape, r.shape, s.shape)
assert s.dtype == np.uint8
tt, rr, ss = t[:], r[:], s[:]
assert (tt["id"] == np.arange(T)).all()
assert h5py.check_enum_dtype(t.dtype["regime"]) == {"rf": 0, "nt": 1, "nn": 2, "null": 3}
assert h5py.check_enum_dtype(t.dtype["target"])["none"] == -1
assert (tt["n"][::2] == -1).all() and (tt["n"][1::2] == 100).all()
assert (ss > 0).all(), "pending rows"
assert (rr["rank"] == np.arange(T) % NP).all(), "rank field"
assert (rr["risk_train"] == 1.0 + np.arange(T)).all()
assert ((rr["cause"] != 0) == (ss == 2)).all()
fmt = f.attrs["format"]
assert (fmt.decode() if isinstance(fmt, bytes) else fmt) == "lazysweep-results"
assert f["curves"].shape == (T, 4) and f["curves"].dtype.names == ("train", "test")
assert len([x for x in f["runs"]["start"] if x == x]) >= 1
print("h5py: ok", T, "rows, fields match")
EOF
}

# ---- disjoint rows on 2 and 3 ranks -------------------------------------------------
for np in 2 3; do
    RUN $np $W run "$D/r$np.h5" 600 0
    CHECK $W verify "$D/r$np.h5" 600 complete
    CHECK h5py_check "$D/r$np.h5" 600 $np
done
CHECK test ! -e "$D/r3.h5.creating"

# ---- refusals on 3 ranks leave the file byte-identical --------------------------------
sum0=$(cksum <"$D/r3.h5")
mpirun --oversubscribe -np 3 $W probe "$D/r3.h5" other-job >"$D/p.log" 2>&1
grep -q "probe: rc=-4 on all ranks" "$D/p.log" && ok "other job: EJOB (-4) on all 3 ranks" || bad "other job: $(cat "$D/p.log")"
[ "$(cksum <"$D/r3.h5")" = "$sum0" ] && ok "file byte-identical after the refusal" || bad "file changed by a refused open"
echo "not hdf5" >"$D/foreign.h5"
mpirun --oversubscribe -np 2 $W probe "$D/foreign.h5" writer-hash-1 >"$D/p.log" 2>&1
grep -q "probe: rc=-3 on all ranks" "$D/p.log" && ok "foreign file: EFOREIGN (-3) on all ranks" || bad "foreign: $(cat "$D/p.log")"
[ "$(cat "$D/foreign.h5")" = "not hdf5" ] && ok "foreign file untouched" || bad "foreign file changed"

# ---- weights and curves (save_weights = yes) -------------------------------------------
WRITER_WEIGHTS=1 RUN 2 -x WRITER_WEIGHTS $W run "$D/w.h5" 60 0
CHECK "$PY" -c "
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r', locking=False)
g = f['weights/task_9']  # N = 1 + 9 % 7 = 3, d = 6
assert g['W0'].shape == (3, 6) and (g['W0'][:].ravel() == 9 + np.arange(18) * 1e-3).all()
assert (g['a0'][:] == -9 - np.arange(3)).all() and g['c'][0] == 9.0
assert (g['M'][:].ravel() == 4.5 + np.arange(36)).all()
assert f['targets/d6/B'].shape == (1000, 6, 6) and np.isnan(f['targets/d6/b0'][0])
assert (f['curves'][9]['train'] == 9 + np.arange(4)).all() and (f['curves_steps'][:] == [1, 10, 100, 1000]).all()
print('weights, targets, curves: ok')" "$D/w.h5"

# ---- a reader while a job writes ------------------------------------------------------
mpirun --oversubscribe -np 2 $W run "$D/live.h5" 400 4000 >"$D/live.log" 2>&1 &
mp=$!
for i in $(seq 1 200); do [ -e "$D/live.h5" ] && break; sleep 0.1; done # slow when the machine is busy
sleep 0.3
CHECK $W verify "$D/live.h5" 400
CHECK "$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r',locking=False); s=f['status'][:]; print('live h5py: done', int((s>0).sum()), 'of', len(s))" "$D/live.h5"
wait $mp && ok "live writer finished" || bad "live writer finished"
CHECK $W verify "$D/live.h5" 400 complete

# ---- kill -9 at random moments --------------------------------------------------------
kill_job() { # MPIRUN_PID PIDDIR: SIGKILL mpirun and every rank, by pid
    kids=$(pgrep -P "$1" 2>/dev/null)
    kill -9 "$1" $kids 2>/dev/null
    for f in "$2"/*; do [ -e "$f" ] && kill -9 "$(basename "$f")" 2>/dev/null; done
    wait "$1" 2>/dev/null
    sleep 0.3 # a rank that started late
    for f in "$2"/*; do [ -e "$f" ] && kill -9 "$(basename "$f")" 2>/dev/null; done
    alive=0 # a zombie (state Z, not yet reaped by its new parent) is dead
    for f in "$2"/*; do
        p=$(basename "$f")
        [ -e "/proc/$p/stat" ] && [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$p/stat" 2>/dev/null)" != Z ] && alive=1
    done
    [ $alive -eq 0 ]
}
trial() { # NAME WEIGHTS T DELAY_US SECONDS
    name=$1 P="$D/k_$1.h5"
    rm -rf "$P" "$P.creating" "$D/pids"; mkdir "$D/pids"
    WRITER_WEIGHTS=$2 mpirun -x WRITER_WEIGHTS --oversubscribe -np 3 $W run "$P" "$3" "$4" "$D/pids" >"$D/k.log" 2>&1 &
    mp=$!
    sleep "$5"
    if kill_job $mp "$D/pids"; then ok "kill -9 $name after ${5}s: no process left"
    else bad "kill -9 $name after ${5}s: processes left"; fi
    left=""; [ -e "$P.creating" ] && left=" (PATH.creating left)"
    if $W verify "$P" "$3" >"$D/v.log" 2>&1; then ok "kill $name: $(cat "$D/v.log")$left"
    else bad "kill $name: $W verify $P $3: $(cat "$D/v.log")$left"; fi
    echo "trial $name weights=$2 T=$3 delay_us=$4 kill_after=$5: $(cat "$D/v.log")$left" >>"$D/trials.txt"
    # resume on 2 ranks (creates it if absent, over a leftover .creating), then complete
    WRITER_WEIGHTS=$2 RUN 2 -x WRITER_WEIGHTS $W run "$P" "$3" 0
    CHECK $W verify "$P" "$3" complete
}
rnd() { # LO HI: a uniform random moment, two decimals
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    awk -v r="$r" -v lo="$1" -v hi="$2" 'BEGIN { printf "%.2f", lo + r / 65535 * (hi - lo) }'
}
echo "kill moments are random (the create step of 500 tasks with weights runs from about 0.5 s to 1.2 s)"
trial create1 1 500 0 0.7
trial create2 1 500 0 "$(rnd 0.55 1.2)"
trial rows1 0 900 5000 "$(rnd 0.3 1.5)"
trial rows2 0 900 5000 "$(rnd 0.3 1.5)"
trial rows3 1 300 5000 "$(rnd 0.8 1.8)"
trial late 0 900 3000 "$(rnd 1.0 1.6)"
cat "$D/trials.txt"

if [ $fail -eq 0 ]; then rm -rf "$D"; else echo "kept $D"; fi
echo "t_store_mpi: $pass passed, $fail failed"
[ $fail -eq 0 ]
