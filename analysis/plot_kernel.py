#!/usr/bin/python3
"""Kernel limits (SPEC §8): the figure and table of a results file with krr tasks.

    /usr/bin/python3 analysis/plot.py results.h5 -o fig.png --kind kernel   (auto-detected)
    /usr/bin/python3 analysis/plot_kernel.py results.h5                      (the numbers)

fig_kernel(df) draws, from `lazysweep.load(path)` alone, per (model, target, d):
- (a) RF and (b) NT learning curves: population risk R/R0 against n at each width N
  (colour from small to large N) beside the kernel limit KRR-RF / KRR-NT (black), mean
  +- s.e. over replicates; risks below FLOOR (exact zeros: n >= P + 1 noiseless) as
  triangles at the floor, risks above CEIL (the interpolation peak at n ~ N) as triangles
  at the top; the n = P + 1 threshold dotted;
- (c) the approach to the kernel: the RMS over replicates of (R_N - R_KRR)/R0 (paired: same
  data) against N at a few n, with 3/sqrt(N) (SPEC's tolerance for N >= 16 n) dashed;
- (d) the order at finite n: KRR-RF against KRR-NT (linear scale), with the n = inf risks
  of RF and NT at the smallest width N >= d in the file as dashed lines (there NT <= RF).
Mixture panels use the same layout with the 0-1 test error. Only DONE tasks are drawn.
"""
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lazysweep as ls  # noqa: E402

FLOOR, CEIL = 1e-3, 3.0
KRR = {"rf": "krr_rf", "nt": "krr_nt"}
LABEL = {"rf": "RF", "nt": "NT", "krr_rf": "KRR-RF", "krr_nt": "KRR-NT"}
COLOR = {"krr_rf": "#1f77b4", "krr_nt": "#ff7f0e"}


def has_krr(df):
    return bool(df["done"].any() and df[df["done"]]["regime"].isin(list(KRR.values())).any())


def _metric(model):
    return "risk_pop_norm" if model == "quadratic" else "error_test"


def _stats(s, key, metric):
    g = s.groupby(key)[metric]
    out = g.agg(["mean", "count", "std"]).reset_index()
    out["se"] = out["std"] / np.sqrt(out["count"])
    return out.sort_values(key)


def _curve(ax, st, color, label, lw=1.2, ms=4, z=3, log=True):
    x, y, se = st["n"].to_numpy(), st["mean"].to_numpy(), st["se"].fillna(0).to_numpy()
    if not log:
        ax.errorbar(x, y, yerr=se, color=color, marker="o", ms=ms, lw=lw, capsize=2, label=label, zorder=z)
        return
    ok = (y >= FLOOR) & (y <= CEIL)
    yy = np.where(ok, y, np.nan)  # a gap where a point is off scale
    ax.errorbar(x, yy, yerr=np.where(ok, se, 0), color=color, marker="o", ms=ms, lw=lw, capsize=2,
                label=label, zorder=z)
    lo, hi = y < FLOOR, y > CEIL
    if lo.any():
        ax.plot(x[lo], np.full(lo.sum(), FLOOR * 1.25), ls="none", marker="v", ms=ms + 2, color=color,
                mec="k", mew=0.4, zorder=z)
    if hi.any():
        ax.plot(x[hi], np.full(hi.sum(), CEIL * 0.8), ls="none", marker="^", ms=ms + 2, color=color,
                mec="k", mew=0.4, zorder=z)


def _panels(df):
    done = df[df["done"]]
    keys = done[done["regime"].isin(list(KRR.values()))][["model", "target", "d"]].drop_duplicates()
    return sorted(tuple(k) for k in keys.itertuples(index=False))


def rms_gap(sub, reg, metric):
    """(N, n, rms, replicates): RMS over replicates of (R_N - R_KRR) for regime reg, paired
    by (n, replicate) with the krr task on the same data."""
    fin = sub[np.isfinite(sub["n"])]
    k = fin[fin["regime"] == KRR[reg]][["n", "replicate", metric]].rename(columns={metric: "krr"})
    f = fin[fin["regime"] == reg][["N", "n", "replicate", metric]].merge(k, on=["n", "replicate"])
    f["dev2"] = (f[metric] - f["krr"]) ** 2
    g = f.groupby(["N", "n"])["dev2"].agg(["mean", "count"]).reset_index()
    g["rms"] = np.sqrt(g["mean"])
    return g[["N", "n", "rms", "count"]]


def fig_kernel(df):
    panels = _panels(df)
    if not panels:
        raise SystemExit("plot: no krr tasks: nothing to draw for --kind kernel")
    fig, grid = plt.subplots(2 * len(panels), 2, figsize=(13, 9.6 * len(panels) + 0.8), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for row, (model, target, d) in enumerate(panels):
        axes = {row: [grid[2 * row][0], grid[2 * row][1], grid[2 * row + 1][0], grid[2 * row + 1][1]]}
        sub = df[df["done"] & (df["model"] == model) & (df["target"] == target) & (df["d"] == d)]
        metric = _metric(model)
        log = model == "quadratic"
        fin = sub[np.isfinite(sub["n"])]
        P = d * (d + 1) // 2
        Ns = sorted(n for n in sub[sub["regime"].isin(["rf", "nt"])]["N"].unique() if n > 0)
        what = "R / R\u2080 (population)" if log else "0-1 test error"
        head = ("quadratic, %s target" % target if model == "quadratic" else "mixture") + ", d = %d" % d
        for j, reg in enumerate(("rf", "nt")):
            ax = axes[row][j]
            for i, N in enumerate(Ns):
                st = _stats(fin[(fin["regime"] == reg) & (fin["N"] == N)], "n", metric)
                if len(st):
                    _curve(ax, st, cmap(i / max(len(Ns) - 1, 1)), "%s N = %d" % (LABEL[reg], N),
                           lw=1.0, ms=3, z=2, log=log)
            st = _stats(fin[fin["regime"] == KRR[reg]], "n", metric)
            if len(st):
                _curve(ax, st, "k", LABEL[KRR[reg]] + " (N = \u221e)", lw=2.0, ms=5, z=4, log=log)
            ax.axvline(P + 1, color="grey", ls=":", lw=1, label="n = P + 1 = %d" % (P + 1))
            ax.set_xscale("log")
            if log:
                ax.set_yscale("log")
                ax.set_ylim(FLOOR, CEIL)
            else:
                ax.set_ylim(0, 0.55)
            ax.set_xlabel("training samples n")
            ax.set_ylabel(what)
            ax.grid(alpha=0.3, which="both")
            note = "" if reg == "rf" else "\n(nt: min \u2016(\u03b4a, G)\u2016, the parameter norm)"
            ax.set_title("(%s) %s, %s at width N vs %s%s" % ("ab"[j], head, LABEL[reg], LABEL[KRR[reg]], note),
                         fontsize=9)
            ax.legend(fontsize=6.5, loc="lower left")
        # (c) the approach to the kernel
        ax = axes[row][2]
        nsel = sorted(n for n in fin[fin["regime"].isin(list(KRR.values()))]["n"].unique() if n < P)
        nsel = [n for n in nsel if n in (40, 120)] or nsel[len(nsel) // 2:len(nsel) // 2 + 1]
        styles = ["-", "--", ":"]
        for j, reg in enumerate(("rf", "nt")):
            g = rms_gap(sub, reg, metric)
            for k, n in enumerate(nsel):
                s = g[(g["n"] == n) & (g["N"] > 0)].sort_values("N")
                if len(s):
                    y = np.clip(s["rms"].to_numpy(), 1e-6, CEIL)  # the interpolation peak: at the top
                    ax.plot(s["N"], y, ls=styles[k % 3], marker="os"[j], ms=4,
                            color=COLOR[KRR[reg]], label="%s, n = %d" % (LABEL[reg], n))
                    top = s["rms"].to_numpy() > CEIL
                    if top.any():
                        ax.plot(s["N"][top], y[top], ls="none", marker="^", ms=7, color=COLOR[KRR[reg]],
                                mec="k", mew=0.4)
                    big = s[s["N"] >= 16 * n]
                    if len(big):
                        ax.plot(big["N"], np.clip(big["rms"], 1e-6, CEIL), ls="none", marker="o", ms=9,
                                mfc="none", mec=COLOR[KRR[reg]])
        if Ns:
            x = np.array([min(Ns), max(Ns)], float)
            ax.plot(x, 3 / np.sqrt(x), color="grey", ls="--", lw=1, label="3/\u221aN (SPEC tolerance)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width N")
        ax.set_ylabel("RMS over replicates of (R_N \u2212 R_KRR)" + (" / R\u2080" if log else ""))
        ax.grid(alpha=0.3, which="both")
        ax.set_ylim(None, CEIL * 1.3)
        ax.set_title("(c) approach to the kernel (paired: same data; rings: N \u2265 16n; \u25b2 above %g)"
                     % CEIL, fontsize=9)
        ax.legend(fontsize=6.5)
        # (d) the order at finite n
        ax = axes[row][3]
        for reg in ("krr_rf", "krr_nt"):
            st = _stats(fin[fin["regime"] == reg], "n", metric)
            if len(st):
                _curve(ax, st, COLOR[reg], LABEL[reg], lw=1.6, ms=4, log=False)
        big = [N for N in Ns if N >= d]
        if big:
            N0 = big[0]
            pop = sub[np.isinf(sub["n"]) & (sub["N"] == N0)]
            for reg in ("rf", "nt"):
                v = pop[pop["regime"] == reg][metric]
                if len(v):
                    ax.axhline(v.mean(), color=COLOR[KRR[reg]], ls="--", lw=1,
                               label="%s at n = \u221e, N = %d" % (LABEL[reg], N0))
        ax.axvline(P + 1, color="grey", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_ylim(-0.03, None)  # a zero risk (NT at n = inf) stays visible
        ax.set_xlabel("training samples n")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3, which="both")
        kr = _stats(fin[fin["regime"] == "krr_rf"], "n", metric).set_index("n")["mean"]
        kn = _stats(fin[fin["regime"] == "krr_nt"], "n", metric).set_index("n")["mean"]
        both = [n for n in kr.index if n in kn.index and n <= P]
        if both:
            wins = sum(kr[n] < kn[n] for n in both)
            ax.text(0.97, 0.97, "KRR-RF < KRR-NT at %d of %d n ≤ P" % (wins, len(both)),
                    transform=ax.transAxes, ha="right", va="top", fontsize=8)
        ax.set_title("(d) finite n reverses the population order", fontsize=9)
        ax.legend(fontsize=7)
    name = df.attrs.get("job_name", "")
    reps = int(df[df["done"]]["replicate"].max()) + 1 if df["done"].any() else 0
    fig.suptitle("%s: kernel limits N \u2192 \u221e of RF and NT (SPEC \u00a78), ridge 0\nmean \u00b1 s.e. "
                 "over %d replicates; \u25bc below %g (exact 0), \u25b2 above %g" % (name, reps, FLOOR, CEIL),
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def kernel_table(df):
    """The numbers the figure shows, as text: per (model, target, d) the mean risks of
    krr_rf, krr_nt and rf / nt at each N against n, and the RMS gaps to the kernel."""
    lines = []
    for model, target, d in _panels(df):
        sub = df[df["done"] & (df["model"] == model) & (df["target"] == target) & (df["d"] == d)]
        metric = _metric(model)
        lines.append("%s %s d = %d, %s (mean over replicates):" % (model, target, d, metric))
        t = sub.groupby(["regime", "N", "n"])[metric].mean().unstack("n")
        order = [r for r in ("krr_rf", "krr_nt", "rf", "nt") if r in t.index.get_level_values(0)]
        t = t.loc[order]
        cols = list(t.columns)
        lines.append("%-8s %6s " % ("regime", "N") + " ".join("%9s" % ("inf" if math.isinf(n) else "%d" % n)
                                                         for n in cols))
        for (reg, N), r in t.iterrows():
            lines.append("%-8s %6s " % (reg, "-" if N == 0 else N) +
                         " ".join("%9.4g" % v if np.isfinite(v) else "%9s" % "" for v in r.to_numpy()))
        for reg in ("rf", "nt"):
            g = rms_gap(sub, reg, metric)
            for n in sorted(g["n"].unique()):
                s = g[g["n"] == n].sort_values("N")
                lines.append("RMS %s - %s at n = %d: " % (reg, KRR[reg], n) +
                             ", ".join("N = %d: %.4g" % (a, b) for a, b in zip(s["N"], s["rms"])))
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: plot_kernel.py results.h5", file=sys.stderr)
        return 2
    print(kernel_table(ls.load(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
