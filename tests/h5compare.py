"""Bitwise comparison of two lazysweep results files: /tasks, /status, the science
fields of /results and /curves. Exit 0 when equal, 1 with the first differences.
Not compared: seconds, rank, attempts (schedule), flops (counts depend on which
cached work a rank reuses). `--except ID,ID,...` leaves those task ids out."""
import sys

import h5py
import numpy as np

SCIENCE = ["risk_train", "risk_test", "risk_pop", "r0", "error_test", "bayes_error",
           "theory", "iterations", "residual", "cause", "stop", "restarts", "error_floor",
           "t_final", "theta_dist", "dead", "risk_nt", "risk_ey", "ebar", "step_norm",
           "risk_rf0"]


def same(a, b):
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def main(pa, pb, skip=()):
    bad = []
    with h5py.File(pa, "r", locking=False) as fa, h5py.File(pb, "r", locking=False) as fb:
        if not same(fa["tasks"][()], fb["tasks"][()]):
            bad.append("/tasks differ")
        keep = np.ones(len(fa["status"]), bool)
        keep[list(skip)] = False
        sa, sb = fa["status"][()][keep], fb["status"][()][keep]
        if not same(sa, sb):
            bad.append("/status differ at ids %s" % np.nonzero(sa != sb)[0][:10].tolist())
        ra, rb = fa["results"][()][keep], fb["results"][()][keep]
        for f in SCIENCE:
            if f not in ra.dtype.names or f not in rb.dtype.names:
                continue  # a member older files lack
            if not same(ra[f], rb[f]):
                ids = [i for i in range(len(ra)) if ra[f][i:i + 1].tobytes() != rb[f][i:i + 1].tobytes()]
                bad.append("/results %s differ at ids %s" % (f, ids[:10]))
        if ("curves" in fa) != ("curves" in fb):
            bad.append("/curves present in one file only")
        elif "curves" in fa and not same(fa["curves"][()][keep], fb["curves"][()][keep]):
            bad.append("/curves differ")
    for line in bad:
        print("h5compare: %s vs %s: %s" % (pa, pb, line))
    return 1 if bad else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    skip = ()
    if "--except" in args:
        i = args.index("--except")
        skip = [int(x) for x in args[i + 1].split(",") if x]
        del args[i:i + 2]
    sys.exit(main(args[0], args[1], skip))
