"""Bookkeeping for tests/torture.sh (h5py, no MPI).

    torture.py finished FILE SNAP    tasks finished so far — DONE in the file by the shared
                                     definition, or a done/failed result in FILE.journal
                                     (checksummed lines only) — with their attempts, into SNAP
    torture.py lost FILE SNAP        how many tasks of SNAP are not finished in FILE now, or
                                     ran again (their attempts grew): prints the count
"""
import json
import os
import sys

import h5py
import numpy as np


def outcome(status, res):
    """src/outcome.c (and analysis/lazysweep.py's outcome), without pandas: 1 done, 2 failed."""
    att, cause = res["attempts"], res["cause"]
    done = (att > 0) & (status == 1) & (cause == 0) & np.isfinite(res["r0"]) & np.isfinite(res["risk_pop"])
    failed = (att > 0) & (status == 2) & (cause > 0) & (cause != 4)
    return np.where(done, 1, np.where(failed, 2, 0))


def fnv32(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def journal_results(path):
    """{id: attempt} of the latest done/failed result per task in a journal."""
    out = {}
    try:
        raw = open(path, "rb").read()
    except OSError:
        return out
    for line in raw.split(b"\n")[:-1]:  # the last piece has no newline: torn or empty
        k = line.rfind(b" check=")
        if k < 0 or len(line) - k != 15:
            continue
        try:
            if fnv32(line[:k]) != int(line[k + 7:], 16):
                continue
        except ValueError:
            continue
        f = line[:k].split()
        if len(f) >= 4 and f[0] == b"R" and f[2] in (b"done", b"failed") and f[3].startswith(b"a="):
            out[int(f[1])] = int(f[3][2:])
    return out


def file_state(path):
    with h5py.File(path, "r", locking=False) as f:
        res = f["results"][()]
        state = outcome(f["status"][()], res)
    return state, res["attempts"].astype(int)


def finished(path, snap):
    done = {}
    if os.path.exists(path):
        state, att = file_state(path)
        for i in np.nonzero(state > 0)[0]:
            done[int(i)] = int(att[i])
    for i, a in journal_results(path + ".journal").items():
        done[i] = max(a, done.get(i, 0))
    with open(snap, "w") as fh:
        json.dump(done, fh)
    print(len(done))


def lost(path, snap):
    done = {int(k): v for k, v in json.load(open(snap)).items()}
    state, att = file_state(path)
    bad = [i for i, a in done.items() if state[i] == 0 or att[i] != a]
    print(len(bad))
    if bad:
        print("lost or rerun: %s" % bad[:10], file=sys.stderr)


if __name__ == "__main__":
    {"finished": finished, "lost": lost}[sys.argv[1]](sys.argv[2], sys.argv[3])
