#!/usr/bin/python3
"""The lazy <-> rich figure (SPEC §6): risk and |theta - theta0| against the scale alpha,
from the alpha / alpha_lin tasks of a lazysweep results file.

    /usr/bin/python3 analysis/plot.py results.h5 -o fig.png --kind alpha

One column per (model, target, d, n, N). Top: the exact population risk R/R0 of the
effective model at the end of the run (the horizon T, a tolerance stop, or the budget;
mean +- standard error over replicates) of `alpha` (filled) and `alpha_lin` (hollow)
against alpha on a log axis; lines: the class optimum R*_alpha of each alpha (dotted, the
`theory` field), the NT risk at W0 (dashed, `risk_nt`) and the Eckart-Young risk (dash-dot,
`risk_ey`). Red rings: a replicate stopped short (budget). Bottom: |theta - theta0|
(`theta_dist`) and alpha |theta - theta0| against alpha (log-log): the lazy regime moves
the parameters by O(1/alpha).
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lazysweep as ls  # noqa: E402

COLOR = {"alpha": "#2ca02c", "alpha_lin": "#ff7f0e"}


def stats(s, col):
    g = s.groupby("alpha")[col]
    out = g.agg(["mean", "count", "std"]).reset_index().sort_values("alpha")
    out["se"] = np.where(out["count"] > 1, out["std"] / np.sqrt(out["count"]), np.nan)
    return out


def fig_alpha(df):
    d = df[df["done"] & df["regime"].isin(["alpha", "alpha_lin"])].copy()
    if not len(d):
        raise SystemExit("plot: no DONE alpha or alpha_lin tasks")
    for c in ("risk_pop", "theory", "risk_nt", "risk_ey"):
        d[c + "_n"] = d[c] / d["r0"]
    d["scaled_dist"] = d["alpha"] * d["theta_dist"]
    keys = d[["model", "target", "d", "n", "N"]].drop_duplicates().sort_values(["model", "d", "n", "N"])
    keys = [tuple(k) for k in keys.itertuples(index=False)]
    ncol = len(keys)
    fig, axes = plt.subplots(2, ncol, figsize=(max(4.6 * ncol, 6), 8.2), squeeze=False)
    for j, (model, target, dd, n, N) in enumerate(keys):
        sub = d[(d["model"] == model) & (d["target"] == target) & (d["d"] == dd) &
                (d["n"] == n) & (d["N"] == N)]
        ax, bx = axes[0][j], axes[1][j]
        for r, hollow in (("alpha", False), ("alpha_lin", True)):
            s = sub[sub["regime"] == r]
            if not len(s):
                continue
            st = stats(s, "risk_pop_n")
            ax.errorbar(st["alpha"], st["mean"], yerr=st["se"].fillna(0), color=COLOR[r],
                        marker="o" if r == "alpha" else "s", ms=5, mfc="white" if hollow else COLOR[r],
                        capsize=2.5, lw=1.3, label={"alpha": "GD on the scaled model",
                                                    "alpha_lin": "its linearisation"}[r])
            short = s[~s["converged"]].groupby("alpha").size()
            m = st[st["alpha"].isin(short.index)]
            if len(m):
                ax.scatter(m["alpha"], m["mean"], s=110, facecolors="none", edgecolors="red",
                           lw=1.3, zorder=6, label="stopped short (budget)")
            if r == "alpha":
                ot = stats(s, "theory_n")
                ax.plot(ot["alpha"], ot["mean"], color="k", ls=(0, (1, 1.5)), lw=1.2,
                        marker="x", ms=4, label="class optimum R*_\u03b1")
                for x in ("theta_dist", "scaled_dist"):
                    sd = stats(s, x)
                    bx.errorbar(sd["alpha"], sd["mean"], yerr=sd["se"].fillna(0), capsize=2.5,
                                marker="o" if x == "theta_dist" else "^", ms=5, lw=1.2,
                                label="|\u03b8 \u2212 \u03b8\u2080|" if x == "theta_dist"
                                else "\u03b1 |\u03b8 \u2212 \u03b8\u2080|")
        ax.axhline(sub["risk_nt_n"].mean(), color="#ff7f0e", ls="--", lw=1,
                   label="NT risk at W\u2080 (\u03b1 \u2192 \u221e)")
        ax.axhline(sub["risk_ey_n"].mean(), color="#2ca02c", ls="-.", lw=1,
                   label="Eckart\u2013Young (\u03b1 \u2192 0)")
        ax.set_xscale("log")
        ax.set_ylim(0, max(1.05 * sub["risk_pop_n"].max(), 1.05 * sub["risk_nt_n"].max()))
        ax.set_xlabel("\u03b1")
        ax.set_ylabel("R / R\u2080 (population)")
        ax.grid(alpha=0.3, which="both")
        ninf = "n = \u221e" if np.isinf(n) else "n = %d" % n
        ax.set_title("%s%s, d = %d, N = %d, %s" % (model, ", %s target" % target if model == "quadratic"
                                                   else "", dd, N, ninf), fontsize=9)
        bx.set_xscale("log")
        bx.set_yscale("log")
        bx.set_xlabel("\u03b1")
        bx.set_ylabel("parameter distance at the end")
        bx.grid(alpha=0.3, which="both")
    seen = {}
    for ax in np.ravel(axes):
        for h, l in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(l, h)
    fig.legend(list(seen.values()), list(seen.keys()), loc="lower center", ncol=4, fontsize=8,
               frameon=False)
    name = df.attrs.get("job_name", "?")
    fig.suptitle("lazysweep job '%s': lazy \u2194 rich by the scale \u03b1 (mean \u00b1 s.e.)" % name,
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    return fig
