#!/usr/bin/python3
"""Markdown tables for docs/REPRODUCTION.md from a lazysweep results file.

    /usr/bin/python3 analysis/report.py results.h5 [--n inf] [--metric risk_pop|error_test]

One row per (model, target, d, N, n) and one column group per regime: the mean +- s.e. of
the normalised risk over replicates, the class optimum at this d and n = inf (mean of the
per-task `theory` field, normalised) and the SPEC §3 limit (d -> inf). For the quadratic
exponential target at d = 450 the SPEC reference row (RF/NT limits at the drawn B's kappa,
NN for one draw of B) is added where SPEC tabulates N, with the deviation from it.
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lazysweep as ls  # noqa: E402

# SPEC.md §3, d = 450, exponential target, R/R0
SPEC450 = {
    "N": [30, 90, 150, 210, 270, 330, 390, 450],
    "rf": [0.969, 0.919, 0.878, 0.845, 0.817, 0.793, 0.773, 0.756],
    "nt": [0.902, 0.718, 0.553, 0.406, 0.277, 0.167, 0.074, 0.0],
    "nn": [0.497, 0.203, 0.092, 0.041, 0.014, 0.004, 0.0004, 0.0],
}


def spec450(regime, N):
    if N in SPEC450["N"]:
        return SPEC450[regime][SPEC450["N"].index(N)]
    return math.nan


def fmt(v, digits=4):
    if v is None or not np.isfinite(v):
        return ""
    if v != 0 and abs(v) < 10 ** (-digits + 1):
        return "%.2e" % v
    return "%.*f" % (digits, v)


def table(df, n_sel=None, metric="risk_pop"):
    df = df[df["done"]].copy()
    if n_sel is not None:
        df = df[df["n"] == n_sel]
    col = metric + "_norm" if metric.startswith("risk") else metric
    df["opt"] = df["theory"] / df["r0"] if metric.startswith("risk") else np.nan
    lines = []
    devs = {}
    for (model, target, d, n), g in df.groupby(["model", "target", "d", "n"], sort=True):
        is450 = model == "quadratic" and target == "exponential" and d == 450 and math.isinf(n)
        regimes = [r for r in ["rf", "nt", "nn"] if r in set(g["regime"])]
        lines.append("")
        lines.append("**%s, %s, d = %d, n = %s** (%s; mean \u00b1 s.e. over replicates)" % (
            model, target, d, "\u221e" if math.isinf(n) else "%d" % n, col))
        lines.append("")
        head = ["N", "N/d"]
        for r in regimes:
            R = r.upper()
            head += ["%s measured" % R, "%s class opt." % R, "%s limit" % R]
            if is450:
                head += ["%s SPEC" % R, "%s \u2212 SPEC" % R]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for N, h in g.groupby("N"):
            row = [str(N), "%.3f" % (N / d)]
            for r in regimes:
                s = h[h["regime"] == r]
                v = s[col].to_numpy(float)
                v = v[np.isfinite(v)]
                m = v.mean() if len(v) else math.nan
                se = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.nan
                row.append(fmt(m) + (" \u00b1 " + fmt(se) if np.isfinite(se) else ""))
                row.append(fmt(s["opt"].mean()))
                row.append(fmt(ls.theory_limit(model, target, r, N / d)))
                if is450:
                    sp = spec450(r, N)
                    row.append(fmt(sp, 4 if r == "nn" else 3))
                    row.append(fmt(m - sp) if np.isfinite(sp) else "")
                    if np.isfinite(sp):
                        devs.setdefault(r, []).append((abs(m - sp), N, m, sp))
            lines.append("| " + " | ".join(row) + " |")
    if devs:
        lines.append("")
        for r, lst in devs.items():
            a, N, m, sp = max(lst)
            lines.append("- %s: largest |measured \u2212 SPEC| = %.4f at N = %d (%.4f vs %s)" % (
                r.upper(), a, N, m, sp))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--n", help="only this n ('inf' or an integer)")
    ap.add_argument("--metric", default="risk_pop",
                    choices=["risk_pop", "risk_test", "risk_train", "error_test"])
    args = ap.parse_args(argv)
    df = ls.load(args.file)
    n_sel = None if args.n is None else (math.inf if args.n == "inf" else float(args.n))
    print(table(df, n_sel, args.metric))
    return 0


if __name__ == "__main__":
    sys.exit(main())
