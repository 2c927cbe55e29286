#!/bin/sh
# make torture: the engine under faults, counted (DESIGN §6). Usage:
#   tests/torture.sh [TRIALS] [--short]
# TRIALS (default 200) kill -9 trials at random moments, rotating over: the whole job, one
# worker, the master, inside the create step (a file with per-task weights), during
# collective flushes (--sync-every 0.02), the real numerics (tests/jobs/engine.ini) and a
# resume that is itself killed. After each: every process gone, the file absent or
# readable, then resumed to the end and compared bitwise with an undisturbed run, and no
# task that had finished before the resume (DONE in the file or in the journal) is lost or
# ran again. Then every fault point of LAZYSWEEP_FAULT once, the disk filling up (tmpfs,
# root only: in the create step, in the run, with a few KiB more or less than the file's
# size), and (not --short) 64 ranks oversubscribed on the faults job (dispatch rate,
# master CPU). Ends with one line:
#   torture: trials T, hangs H, unreadable U, lost L, mismatches M (fault points F, ...)
top=$(pwd)
bin=$top/build/lazysweep
py=/usr/bin/python3
trials=${1:-200}
short=0; [ "$2" = --short ] && short=1
logs=$top/build/tests/logs/torture
mkdir -p "$logs"
rm -f "$logs"/*
work=$(mktemp -d /tmp/lazysweep-torture.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export LAZYSWEEP_COLLECTIVE_TIMEOUT=10 LAZYSWEEP_VISIBLE_SECONDS=1 LAZYSWEEP_FAULT= LAZYSWEEP_FAULT_TASK=
mnt=""
cleanup() {
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    for p in $(pgrep -f "$work/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
hangs=0; unreadable=0; lost=0; mismatch=0; done_trials=0; points=0; disk=0; problems=0
hit=0; partial=0 # kills that met a live run; files left incomplete by them
note() { echo "torture: $*" >>"$logs/problems.log"; problems=$((problems + 1)); }

rnd() { # LO HI: a uniform random moment, two decimals
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    awk -v r="$r" -v lo="$1" -v hi="$2" 'BEGIN { printf "%.2f", lo + r / 65535 * (hi - lo) }'
}
pids_of() { pgrep -f "lazysweep run .* -o $1" 2>/dev/null; }
rank_pid() { # FILE RANK: the pid of that rank of the run on FILE
    for p in $(pids_of "$1"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return; }
    done
}
kill_all() { # FILE: SIGKILL mpirun and every rank, by pid; 0 when none is left
    for i in 1 2 3 4 5; do
        ps=$(pids_of "$1")
        [ -z "$ps" ] && return 0
        kill -9 $ps 2>/dev/null
        sleep 0.1
    done
    [ -z "$(pids_of "$1")" ]
}
# RUN NP LOG ARGS...: under a 120 s timeout (a hang is counted); returns the exit status
RUN() {
    np=$1; log=$2; shift 2
    if [ "$np" = 0 ]; then set -- "$bin" "$@"
    else set -- mpirun -np "$np" -x LAZYSWEEP_FAULT -x LAZYSWEEP_COLLECTIVE_TIMEOUT "$bin" "$@"; fi
    timeout -k 5 120 "$@" >>"$log" 2>&1; st=$?
    if [ "$st" = 124 ] || [ "$st" = 137 ]; then hangs=$((hangs + 1)); note "HANG: $* (log $log)"; fi
    return $st
}
readable() { # FILE: absent, or status opens it
    [ -e "$1" ] || return 0
    timeout 60 "$bin" status "$1" >/dev/null 2>&1; st=$?
    [ "$st" = 0 ] || [ "$st" = 3 ] || [ "$st" = 4 ]
}
# After a fault: readable; snapshot what had finished; resume to the end; compare.
settle() { # NAME FILE JOB REF
    name=$1; f=$2; j=$3; ref=$4; log=$logs/$name.log
    kill_all "$f" || note "$name: processes left after the kill"
    if ! readable "$f"; then unreadable=$((unreadable + 1)); note "$name: unreadable after the fault"; cp "$f" "$logs/$name.unreadable.h5" 2>/dev/null; fi
    "$py" "$top/tests/torture.py" finished "$f" "$work/snap.json" >/dev/null 2>&1 || echo '{}' >"$work/snap.json"
    for attempt in 1 2 3; do
        RUN 3 "$log" run "$j" -o "$f" -q && break
        kill_all "$f"
    done
    if ! "$py" "$top/tests/h5compare.py" "$ref" "$f" >>"$log" 2>&1; then
        mismatch=$((mismatch + 1)); note "$name: differs from the undisturbed run (log $log)"
    fi
    n=$("$py" "$top/tests/torture.py" lost "$f" "$work/snap.json" 2>>"$log")
    if [ "${n:-1}" != 0 ]; then lost=$((lost + ${n:-1})); note "$name: $n finished tasks lost or rerun (log $log)"; fi
}

fjob=$top/tests/jobs/faults.ini
ejob=$top/tests/jobs/engine.ini
cjob=$top/tests/jobs/create.ini
refs="faults create"; [ "$short" = 0 ] && refs="$refs engine"
for j in $refs; do
    "$bin" run "$top/tests/jobs/$j.ini" -o "$work/ref-$j.h5" -q 2>"$logs/ref-$j.log" || { echo "torture: reference run of $j failed"; exit 1; }
done

# ---- kill -9 at random moments -------------------------------------------------------------
t=0
while [ $t -lt "$trials" ]; do
    t=$((t + 1))
    kind=$((t % 7))
    [ "$short" = 1 ] && [ $kind = 5 ] && kind=0 # --short: no engine job (t_engine.sh kills it)
    f=$work/k.h5; rm -f "$f" "$f".*
    j=$fjob; ref=$work/ref-faults.h5; extra=""; lo=0.3; hi=1.3
    case $kind in
        0) what=job ;;
        1) what=worker ;;
        2) what=master ;;
        3) what=create; j=$cjob; ref=$work/ref-create.h5; lo=0.05; hi=1.0 ;;
        4) what=flush; extra="--sync-every 0.02"; hi=2.5 ;;
        5) what=engine; j=$ejob; ref=$work/ref-engine.h5; hi=3.5 ;;
        6) what=resume ;;
    esac
    log=$logs/trial$t.log; : >"$log"
    at=$(rnd $lo $hi)
    echo "trial $t: $what, kill at ${at}s" >>"$log"
    mpirun -np 3 "$bin" run "$j" -o "$f" -q $extra >>"$log" 2>&1 &
    sleep "$at"
    case $what in
        worker) v=$(rank_pid "$f" $((1 + t % 2))); [ -n "$v" ] && kill -9 "$v" ;;
        master) v=$(rank_pid "$f" 0); [ -n "$v" ] && kill -9 "$v" ;;
        resume) kill_all "$f"; wait 2>/dev/null
                mpirun -np 3 "$bin" run "$j" -o "$f" -q >>"$log" 2>&1 &
                sleep "$(rnd 0.3 1.2)" ;;
    esac
    [ -n "$(pids_of "$f")" ] && hit=$((hit + 1))
    kill_all "$f"
    wait 2>/dev/null
    if [ -e "$f" ]; then
        "$bin" status "$f" >/dev/null 2>&1
        [ $? = 3 ] && partial=$((partial + 1))
    fi
    settle "trial$t" "$f" "$j" "$ref"
    done_trials=$((done_trials + 1))
done

# ---- every fault point once (3 ranks), then resume (--short: tests/t_faults.sh has them) --
[ "$short" = 1 ] && fps="" || fps="create@0 visible@1 open@2 row@1 row@2#4 flush@0 flush@2 flush-skip@1 close@1 journal@0#3"
for fp in $fps; do
    f=$work/p.h5; rm -f "$f" "$f".*
    log=$logs/point-$fp.log; : >"$log"
    LAZYSWEEP_FAULT=$fp RUN 3 "$log" run "$fjob" -o "$f" -q --sync-every 0.02
    st=$?
    [ "$st" = 1 ] || note "fault $fp: exit $st, want 1 (log $log)"
    settle "point-$fp" "$f" "$fjob" "$work/ref-faults.h5"
    points=$((points + 1))
done
# a task that kills its rank (task 1907: RF, N = 10, replicate 7): three deaths, then crashed
if [ "$short" = 0 ]; then
f=$work/p.h5; rm -f "$f" "$f".*; log=$logs/point-task.log; : >"$log"
export LAZYSWEEP_FAULT_TASK=1907
for i in 1 2 3 4; do
    timeout -k 5 120 mpirun -np 3 -x LAZYSWEEP_FAULT_TASK "$bin" run "$fjob" -o "$f" -q >>"$log" 2>&1
    st=$?
    [ "$st" = 124 ] && { hangs=$((hangs + 1)); note "HANG: the run with a rank-killing task"; }
    kill_all "$f"
done
export LAZYSWEEP_FAULT_TASK=
[ "$st" = 4 ] || note "a task that kills its rank: not recorded crashed after 3 deaths (exit $st, log $log)"
"$py" "$top/tests/h5compare.py" "$work/ref-faults.h5" "$f" --except 1907 >>"$log" 2>&1 || { mismatch=$((mismatch + 1)); note "rank-killing task: the other results differ"; }
points=$((points + 1))
fi

# ---- the disk fills up (tmpfs; root only) ----------------------------------------------
if [ "$short" = 0 ] && [ "$(id -u)" = 0 ] && mkdir -p "$work/mnt" && mount -t tmpfs -o size=3m tmpfs "$work/mnt" 2>/dev/null; then
    mnt=$work/mnt
    sed 's/^curve_points = .*/curve_points = 2000/' "$ejob" >"$work/big.ini"
    log=$logs/disk-create.log; : >"$log"
    RUN 3 "$log" run "$work/big.ini" -o "$mnt/big.h5" -q
    st=$?; [ "$st" = 1 ] || note "disk full at create: exit $st, want 1"
    [ -e "$mnt/big.h5" ] || [ -e "$mnt/big.h5.creating" ] && note "disk full at create: a file was left"
    disk=$((disk + 1))
    size=$(stat -c %s "$work/ref-faults.h5")
    # free space a little less or more than the file, then the file plus 12..400 KiB
    for slack in -40 -8 8 12 16 24 64 400; do
        rm -f "$mnt"/*
        head -c $((3 * 1024 * 1024 - size - slack * 1024)) /dev/zero >"$mnt/ballast" 2>/dev/null
        f=$mnt/d.h5; log=$logs/disk$slack.log; : >"$log"
        RUN 3 "$log" run "$fjob" -o "$f" -q
        st=$?
        if [ "$st" = 0 ]; then # it fitted: then it must be whole
            "$py" "$top/tests/h5compare.py" "$work/ref-faults.h5" "$f" >>"$log" 2>&1 \
                || { mismatch=$((mismatch + 1)); note "disk $slack KiB: exit 0 but not complete"; }
        elif [ "$st" != 1 ]; then
            note "disk $slack KiB: exit $st, want 1 (or 0 if it fitted)"
        fi
        if [ -e "$f" ]; then
            if ! readable "$f"; then unreadable=$((unreadable + 1)); note "disk $slack KiB: unreadable"; fi
            d0=$("$bin" status "$f" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['done'])" 2>/dev/null)
            RUN 0 "$log" repair "$f" >/dev/null
            d1=$("$bin" status "$f" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['done'])" 2>/dev/null)
            [ "${d1:-0}" -ge "${d0:-0}" ] || { lost=$((lost + d0 - d1)); note "disk $slack KiB: repair took $d0 -> $d1 done"; }
            cp "$f" "$work/dd.h5"; cp "$f.journal" "$work/dd.h5.journal" 2>/dev/null
            settle "disk$slack" "$work/dd.h5" "$fjob" "$work/ref-faults.h5"
            rm -f "$work"/dd.h5*
        fi
        disk=$((disk + 1))
    done
    umount "$mnt" && mnt=""
else
    echo "torture: disk-full scenarios skipped (--short: tests/t_faults.sh has them; or not root)"
fi

# ---- 64 ranks oversubscribed: protocol correctness, dispatch rate, master CPU -----------
if [ "$short" = 0 ]; then
    for j in faults engine; do
        f=$work/r64-$j.h5; log=$logs/ranks64-$j.log; : >"$log"
        LAZYSWEEP_REPORT_MASTER_CPU=1 RUN 64 "$log" run "$top/tests/jobs/$j.ini" -o "$f" -q
        st=$?
        [ "$st" = 0 ] || note "64 ranks, $j: exit $st (log $log)"
        [ -e "$work/ref-$j.h5" ] || "$bin" run "$top/tests/jobs/$j.ini" -o "$work/ref-$j.h5" -q 2>/dev/null
        "$py" "$top/tests/h5compare.py" "$work/ref-$j.h5" "$f" >>"$log" 2>&1 \
            || { mismatch=$((mismatch + 1)); note "64 ranks, $j: results differ"; }
        used=$("$py" -c "import h5py,sys,numpy as np; r=h5py.File(sys.argv[1],'r',locking=False)['results']['rank']; print(len(np.unique(r[r>=0])))" "$f" 2>/dev/null)
        echo "torture: 64 ranks, $j job: $(grep "master cpu" "$log" | sed 's/lazysweep: //'); tasks ran on $used worker ranks"
    done
fi

[ -s "$logs/problems.log" ] && { echo "torture: problems:"; cat "$logs/problems.log"; }
echo "torture: trials $done_trials, hangs $hangs, unreadable $unreadable, lost $lost, mismatches $mismatch (fault points $points, disk-full $disk; $hit kills met a live run, $partial left a partial file)"
[ $hangs = 0 ] && [ $unreadable = 0 ] && [ $lost = 0 ] && [ $mismatch = 0 ] && [ $problems = 0 ]
