#!/usr/bin/python3
"""The paper's figures from a lazysweep results file (headless: Agg backend).

    /usr/bin/python3 analysis/plot.py results.h5 -o fig.png [--kind auto|width|learning|curves|kernel]

- width (Ghorbani et al. 2019, Fig. 1 style): normalised population risk R/R0 against
  N/d, one curve per regime (RF, NT, NN), mean +- standard error over replicates, the
  SPEC §3 limits (d -> inf) as dashed lines, one panel per (model, target, d, n). For
  finite n the training risk is drawn hollow (dash-dotted) and the class optimum at this
  d and n = inf (per task W0, the results' `theory` field) dotted with x. Mixture panels
  add a row with the 0-1 test error, the Bayes error and the error of the best
  square-loss quadratic predictor M* (`error_floor`) as floors, and chance (1/2).
- Points outside a panel's y range are drawn as triangles at its edge (off scale), and a
  red ring marks a point where some replicate's fit stopped short (stop other than exact
  or converged: tol, budget, linesearch, stalled).
- learning: R/R0 against n (log-log), one panel per (model, target, d, N), one curve per
  regime; the n = inf value as a dashed line, the regimes' parameter counts as ticks.
- curves: NN training curves (/curves, curve_points > 0): risk against the optimiser step.
- onestep: RF risk after one first-layer step against eta~ (analysis/plot_onestep.py).
- kernel: the kernel limits krr_rf / krr_nt beside finite-N RF / NT (plot_kernel.py).
- alpha: lazy <-> rich, risk and |theta - theta0| against alpha (plot_alpha.py).
- auto (default): alpha, onestep or kernel when the file has such tasks; else learning when
  some (model, d, N) has 3 or more finite n, else width.

Works on a file that is still being written (only DONE tasks are drawn).
"""
import argparse
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lazysweep as ls  # noqa: E402
import plot_onestep  # noqa: E402

COLORS = {"rf": "#1f77b4", "nt": "#ff7f0e", "nn": "#2ca02c", "null": "#7f7f7f"}
MARKERS = {"rf": "s", "nt": "^", "nn": "o", "null": "x"}
LABELS = {"rf": "RF", "nt": "NT", "nn": "NN", "null": "null"}
REGIME_ORDER = ["rf", "nt", "nn", "null"]
LOG_FLOOR = 1e-4  # learning curves: smaller risks are drawn as arrows at the axis
OFFSET = {"rf": 0, "nt": 1, "nn": 2, "null": 3}  # stacks off-scale markers of regimes


def n_label(n, d):
    if math.isinf(n):
        return "n = \u221e"
    r2, r1 = n / d ** 2, n / d
    if r2 >= 0.25 and abs(r2 * 4 - round(r2 * 4)) < 1e-9:  # 0.25d², 0.5d², d², 4d² ...
        return "n = %d (%gd\u00b2)" % (n, r2)
    if abs(r1 - round(r1)) < 1e-9:
        return "n = %d (%gd)" % (n, round(r1))
    return "n = %d" % n


def panel_title(model, target, d, n=None, N=None):
    s = "quadratic, %s target" % target if model == "quadratic" else "mixture"
    s += ", d = %d" % d
    if N is not None:
        s += ", N = %d (N/d = %.3g)" % (N, N / d)
    if n is not None:
        s += "\n" + n_label(n, d)
    return s


def group_stats(df, keys, value):
    """Mean, standard error (ddof 1) and count of `value` over DONE replicates."""
    g = df[df["done"] & np.isfinite(df[value])].groupby(keys)[value]
    out = g.agg(["mean", "count", "std"]).reset_index()
    out["se"] = out["std"] / np.sqrt(out["count"])
    out.loc[out["count"] < 2, "se"] = np.nan
    return out


def short_stats(df, keys):
    """Per group of DONE replicates: how many stopped short of a certified fit."""
    d = df[df["done"]].assign(_short=~df.loc[df["done"], "converged"])
    return d.groupby(keys)["_short"].sum().reset_index()


def mark_short(ax, st, short, key):
    """Red rings on the points (st: key, mean) of groups with a fit that stopped short."""
    m = st.merge(short, on=key, how="left")
    m = m[(m["_short"] > 0) & np.isfinite(m["mean"])]
    if len(m):
        ax.scatter(m[key], m["mean"], s=110, facecolors="none", edgecolors="red", lw=1.3,
                   zorder=6, label="fit stopped short (not converged)")


def off_scale(ax, x, y, regime, lo, hi, log=False):
    """Triangles at the panel edge for values outside [lo, hi]; returns the mask of the
    values inside. Regimes are stacked so that one does not hide another."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    inside = (y >= lo) & (y <= hi)
    k = OFFSET.get(regime, 0)
    if log:
        up, down = hi / (1.35 ** (k + 1)), lo * (1.35 ** (k + 1))
    else:
        up, down = hi - (hi - lo) * 0.03 * (k + 1), lo + (hi - lo) * 0.03 * (k + 1)
    for mask, yy, mk, lab in (((y > hi), up, "^", "above the panel (off scale)"),
                              ((y < lo), down, "v", "below the panel (off scale)")):
        if mask.any():
            ax.plot(x[mask], np.full(mask.sum(), yy), ls="none", marker=mk, ms=6,
                    color=COLORS.get(regime, "k"), mec="k", mew=0.5, zorder=5,
                    label="%s %s" % (LABELS.get(regime, regime), lab))
    return inside


def errorbar(ax, x, y, se, regime, label=None, hollow=False, ls_="-", ms=5, z=3):
    c = COLORS.get(regime, "k")
    ax.errorbar(x, y, yerr=np.where(np.isfinite(se), se, 0), color=c, marker=MARKERS.get(regime, "o"),
                ms=ms, lw=1.4 if not hollow else 0.9, ls=ls_, capsize=2.5, label=label,
                mfc="white" if hollow else c, zorder=z)


def shared_legend(fig, axes, rect_top=0.97):
    """One legend for the whole figure (labels deduplicated, in first-seen order) below
    the panels, then tight_layout around it."""
    seen = {}
    for ax in np.ravel(axes):
        for h, l in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(l, h)
    ncol = max(1, min(len(seen), int(fig.get_size_inches()[0] / 2.4), 5))
    nlines = int(math.ceil(len(seen) / max(ncol, 1)))
    h_in = fig.get_size_inches()[1]
    bottom = min(0.35, (0.22 * nlines + 0.15) / h_in)
    if seen:
        fig.legend(list(seen.values()), list(seen.keys()), loc="lower center", ncol=ncol,
                   fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, bottom, 1, rect_top))


def job_title(df, what):
    name = df.attrs.get("job_name", "?")
    st = df["status"].value_counts()
    done, total = int(st.get(1, 0)), len(df)
    extra = "" if done == total else "  [%d of %d tasks done]" % (done, total)
    return "lazysweep job '%s': %s%s" % (name, what, extra)


# ---- width figure: risk against N/d ---------------------------------------------------

def width_panels(df):
    keys = df[df["done"]][["model", "target", "d", "n"]].drop_duplicates()
    keys = keys.assign(_m=keys["model"].map({m: i for i, m in enumerate(ls.MODELS)}))
    keys = keys.sort_values(["_m", "target", "d", "n"])
    return [tuple(r) for r in keys[["model", "target", "d", "n"]].itertuples(index=False)]


def width_ylim(sub, logy):
    """The y range of a risk panel: 0 .. max(1.05, min(top, 1.5)) linear (finite-n peaks
    above 1.5 R0 are drawn off scale), a decade range down to the smallest nonzero value
    on a log scale (exact zeros, e.g. NT and NN at N >= d, are below it)."""
    vals = sub[sub["done"]]["risk_pop_norm"].to_numpy(float)
    vals = vals[np.isfinite(vals)]
    if logy:
        pos = vals[vals > 1e-8]
        return (max(pos.min() * 0.4, 1e-6) if len(pos) else 1e-4), 1.5
    top = vals.max() * 1.05 if len(vals) else 1.05
    return 0.0, max(1.05, min(top, 1.5))


def draw_width_risk(ax, sub, model, target, d, n, logy=False):
    regimes = [r for r in REGIME_ORDER if r in set(sub["regime"])]
    rho_max = sub["rho"].max()
    logx = sub["rho"].max() / max(sub["rho"].min(), 1e-12) > 20
    lo, hi = width_ylim(sub, logy)
    for r in regimes:
        s = sub[sub["regime"] == r]
        metric = "risk_pop_norm" if np.isfinite(s["risk_pop_norm"]).any() else "risk_test_norm"
        st = group_stats(s, ["rho"], metric).sort_values("rho")
        lab = LABELS[r] + ("" if metric == "risk_pop_norm" else " (test)")
        inside = off_scale(ax, st["rho"], st["mean"], r, lo, hi, logy)
        errorbar(ax, st["rho"][inside], st["mean"][inside], st["se"][inside], r, label=lab)
        mark_short(ax, st[inside], short_stats(s, ["rho"]), "rho")
        if np.isfinite(n):
            tr = group_stats(s, ["rho"], "risk_train_norm").sort_values("rho")
            tr = tr[(tr["mean"] >= lo) & (tr["mean"] <= hi)]  # training risks: 0 at interpolation
            if len(tr):
                errorbar(ax, tr["rho"], tr["mean"], tr["se"], r, hollow=True, ls_="-.", ms=4,
                         label="%s train" % LABELS[r], z=2)
        # class optimum at this d, n = inf (per-task theory field), where it is informative
        if (np.isfinite(n) or r == "nn") and "theory" in s:
            opt = s.assign(t_norm=s["theory"] / s["r0"])
            ot = group_stats(opt, ["rho"], "t_norm").sort_values("rho")
            ot = ot[(ot["mean"] >= lo) & (ot["mean"] <= hi)]
            if len(ot):
                ax.plot(ot["rho"], ot["mean"], color=COLORS[r], ls=(0, (1, 1.5)), lw=1.2,
                        marker="x", ms=4, alpha=0.9, label="%s class optimum at this d, n = \u221e" % LABELS[r],
                        zorder=1)
        # SPEC §3 limit (d -> inf)
        if model == "quadratic":
            xlo = 0.0 if not logx else sub["rho"].min() * 0.8
            grid = np.geomspace(max(xlo, 1e-3), rho_max * 1.05, 400) if logx else \
                np.linspace(0, rho_max * 1.05, 400)
            lim = np.asarray(ls.theory_curve(model, target, r, grid), float)
            if logy:  # a limit that reaches 0 leaves the log panel at its floor, not as a wall
                lim = np.where(lim >= lo, lim, np.nan)
            ax.plot(grid, lim, color=COLORS[r], ls="--",
                    lw=1.0, alpha=0.7, label="%s limit d\u2192\u221e (SPEC \u00a73)" % LABELS[r],
                    zorder=1)
    if logx:
        ax.set_xscale("log")
    else:
        ax.set_xlim(0, rho_max * 1.05)
    ax.set_xlabel("N / d")
    ax.set_ylabel("R / R\u2080 (population)" if model == "quadratic" else "square loss R / R\u2080")
    if logy:
        ax.set_yscale("log")
        ax.set_ylabel(ax.get_ylabel() + ", log scale")
    ax.set_ylim(lo, hi)
    ax.grid(alpha=0.3)
    ax.set_title(panel_title(model, target, d, n), fontsize=9)


def draw_error_floors(ax, sub):
    """The mixture's floors: the Bayes error (any classifier) and the 0-1 error of the best
    square-loss quadratic predictor M* (the regimes fit the square loss)."""
    done = sub[sub["done"]]
    if "bayes_error" in done and np.isfinite(done["bayes_error"]).any():
        ax.axhline(done["bayes_error"].mean(), color="k", ls="--", lw=1, label="Bayes error")
    if "error_floor" in done and np.isfinite(done["error_floor"]).any():
        ax.axhline(done["error_floor"].mean(), color="k", ls="-.", lw=1,
                   label="0-1 error of the best square-loss quadratic M*")


def draw_width_error(ax, sub, d, n):
    regimes = [r for r in REGIME_ORDER if r in set(sub["regime"])]
    for r in regimes:
        s = sub[sub["regime"] == r]
        st = group_stats(s, ["rho"], "error_test").sort_values("rho")
        errorbar(ax, st["rho"], st["mean"], st["se"], r, label=LABELS[r])
        mark_short(ax, st, short_stats(s, ["rho"]), "rho")
    draw_error_floors(ax, sub)
    ax.axhline(0.5, color="0.5", ls=":", lw=1, label="chance")
    ax.set_xlabel("N / d")
    ax.set_ylabel("0-1 test error")
    if sub["rho"].max() / max(sub["rho"].min(), 1e-12) > 20:
        ax.set_xscale("log")
    else:
        ax.set_xlim(0, sub["rho"].max() * 1.05)
    ax.set_ylim(0, 0.55)
    ax.grid(alpha=0.3)
    ax.set_title(panel_title("mixture", None, d, n), fontsize=9)


def fig_width(df, logy=None):
    panels = width_panels(df)
    if not panels:
        raise SystemExit("plot: no DONE tasks to draw")
    quad = [p for p in panels if p[0] == "quadratic"]
    mix = [p for p in panels if p[0] == "mixture"]
    if logy is None:  # one quadratic panel: add its log-scale twin (small risks visible)
        logy = len(quad) == 1 and not mix
    ncol = min(max(len(quad) * (2 if logy and len(quad) == 1 else 1), len(mix), 1), 4)
    rows = []  # (kind, panel)
    if logy and len(quad) == 1:
        rows.append([("risk", quad[0]), ("risklog", quad[0])])
    else:
        for i in range(0, len(quad), ncol):
            rows.append([("risk", p) for p in quad[i:i + ncol]])
            if logy:
                rows.append([("risklog", p) for p in quad[i:i + ncol]])
    for i in range(0, len(mix), ncol):
        rows.append([("risk", p) for p in mix[i:i + ncol]])
        rows.append([("error", p) for p in mix[i:i + ncol]])
    width = max(4.6 * ncol + 0.5, 7.5)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(width, 3.9 * len(rows) + 1.2),
                             squeeze=False)
    for i, row in enumerate(rows):
        for j in range(ncol):
            ax = axes[i][j]
            if j >= len(row):
                ax.axis("off")
                continue
            kind, (model, target, d, n) = row[j]
            sub = df[(df["model"] == model) & (df["target"] == target) & (df["d"] == d) &
                     (df["n"] == n)]
            if kind in ("risk", "risklog"):
                draw_width_risk(ax, sub, model, target, d, n, kind == "risklog")
            else:
                draw_width_error(ax, sub, d, n)
    fig.suptitle(job_title(df, "risk against width N/d (mean \u00b1 s.e. over replicates)"),
                 fontsize=11)
    shared_legend(fig, axes)
    return fig


# ---- learning curves: risk against n ----------------------------------------------------

def param_counts(N, d):
    """Independent parameters (with c) of each regime's class: RF N+1; NT and NN (rank-N
    symmetric M) Nd - N(N-1)/2 + 1 for N <= d, d(d+1)/2 + 1 beyond."""
    sym = d * (d + 1) // 2 + 1
    k = N * d - N * (N - 1) // 2 + 1 if N <= d else sym
    return {"rf": min(N + 1, sym), "nt": k, "nn": k}


def learning_panels(df):
    fin = df[df["done"] & np.isfinite(df["n"])]
    cnt = fin.groupby(["model", "target", "d", "N"])["n"].nunique()
    return [k for k, v in cnt.items() if v >= 2]


def fig_learning(df):
    panels = learning_panels(df)
    if not panels:
        raise SystemExit("plot: no (model, d, N) with several finite n: nothing to draw")
    panels.sort(key=lambda k: (ls.MODELS.index(k[0]) if k[0] in ls.MODELS else 9, k[1], k[2], k[3]))
    ncol = min(len(panels), 3)
    nrow = int(math.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol + 0.5, 4.2 * nrow + 0.6), squeeze=False)
    for idx, (model, target, d, N) in enumerate(panels):
        ax = axes[idx // ncol][idx % ncol]
        sub = df[(df["model"] == model) & (df["target"] == target) & (df["d"] == d) & (df["N"] == N)]
        fin = sub[np.isfinite(sub["n"])]
        regimes = [r for r in REGIME_ORDER if r in set(sub["regime"])]
        metric = "risk_pop_norm" if model == "quadratic" else "error_test"
        ymin = np.inf
        anytiny = False
        for r in regimes:
            s = fin[fin["regime"] == r]
            st = group_stats(s, ["n"], metric).sort_values("n")
            if model == "quadratic":  # log scale: (numerically) exact zeros drawn as arrows
                tiny = (st["mean"] < LOG_FLOOR).to_numpy()
                if tiny.any():
                    anytiny = True
                    # stacked per regime so that one regime's arrows do not hide another's
                    ax.plot(st["n"][tiny], np.full(tiny.sum(), LOG_FLOOR * 1.5 ** (OFFSET[r] + 1)),
                            ls="none", marker="v", ms=6, color=COLORS[r], mec="k", mew=0.5,
                            label="%s R/R\u2080 < %g (off scale)" % (LABELS[r], LOG_FLOOR))
                st = st[~tiny]
            errorbar(ax, st["n"], st["mean"], st["se"], r, label=LABELS[r])
            mark_short(ax, st, short_stats(s, ["n"]), "n")
            if len(st):
                pos = st["mean"][st["mean"] > 0]
                if len(pos):
                    ymin = min(ymin, pos.min())
            inf = group_stats(sub[np.isinf(sub["n"]) & (sub["regime"] == r)], ["N"], metric)
            if len(inf):
                v = float(inf["mean"].iloc[0])
                ax.axhline(v, color=COLORS[r], ls="--", lw=1, alpha=0.8,
                           label="%s at n = \u221e" % LABELS[r])
                if v > 0:
                    ymin = min(ymin, v)
            if model == "quadratic" and r in ("rf", "nt"):
                ax.axvline(param_counts(N, d)[r], color=COLORS[r], ls=":", lw=1, alpha=0.8,
                           label="%s parameter count" % LABELS[r])
        if model == "mixture":
            draw_error_floors(ax, sub)
        ax.set_xscale("log")
        ax.set_xlabel("training samples n")
        if model == "quadratic":
            ax.set_yscale("log")
            ax.set_ylim(LOG_FLOOR if anytiny or not np.isfinite(ymin) else max(ymin * 0.5, LOG_FLOOR), None)
            ax.set_ylabel("R / R\u2080 (population)")
        else:
            ax.set_ylabel("0-1 test error")
            ax.set_ylim(0, 0.55)
        ax.grid(alpha=0.3, which="both")
        ax.set_title(panel_title(model, target, d, None, N), fontsize=9)
    for k in range(len(panels), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle(job_title(df, "learning curves (mean \u00b1 s.e. over replicates)"), fontsize=11)
    shared_legend(fig, axes)
    return fig


# ---- NN training curves ---------------------------------------------------------------

def fig_curves(df, path):
    cur = ls.load_curves(path)
    if not len(cur):
        raise SystemExit("plot: %s has no NN training curves (curve_points = 0)" % path)
    cur = cur.merge(df[["id", "model", "target", "d", "N", "n", "regime", "r0", "theory"]], on="id")
    cur["train_norm"] = cur["train"] / cur["r0"]
    cur["test_norm"] = cur["test"] / cur["r0"]
    keys = cur[["model", "target", "d", "n"]].drop_duplicates().sort_values(["model", "d", "n"])
    keys = [tuple(k) for k in keys.itertuples(index=False)]
    ncol = min(len(keys), 3)
    nrow = int(math.ceil(len(keys) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(5.4 * ncol + 0.5, 7.5), 4.6 * nrow + 0.6),
                             squeeze=False)
    for idx, (model, target, d, n) in enumerate(keys):
        ax = axes[idx // ncol][idx % ncol]
        sub = cur[(cur["model"] == model) & (cur["target"] == target) & (cur["d"] == d) &
                  (cur["n"] == n)]
        Ns = sorted(sub["N"].unique())
        cmap = plt.get_cmap("viridis")
        pos = sub["test_norm"][sub["test_norm"] > 0]
        floor = max(pos.min() * 0.5, 1e-7) if len(pos) else 1e-6
        for i, N in enumerate(Ns):
            col = cmap(i / max(len(Ns) - 1, 1))
            s = sub[sub["N"] == N]
            m = s.groupby("step")["test_norm"].mean()
            ax.plot(m.index, m.values, color=col, lw=1.3, label="N/d = %.3g" % (N / d))
            opt = df[(df["id"].isin(s["id"]))]
            o = (opt["theory"] / opt["r0"]).mean()
            if np.isfinite(o) and o > floor:
                ax.axhline(o, color=col, ls=":", lw=0.9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor, None)
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("NN test risk R / R\u2080")
        ax.grid(alpha=0.3, which="both")
        ax.set_title(panel_title(model, target, d, n) + "  (dotted: class optimum)", fontsize=9)
        ax.legend(fontsize=6.5, ncol=2)
    for k in range(len(keys), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle(job_title(df, "NN training curves (mean over replicates)"), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description="Plot the paper's figures from a lazysweep results file.")
    ap.add_argument("file")
    ap.add_argument("-o", "--output", required=True, help="output file (.png, .pdf, .svg)")
    ap.add_argument("--kind", choices=["auto", "width", "learning", "curves", "onestep", "kernel",
                                       "alpha"], default="auto")
    ap.add_argument("--dpi", type=int, default=100)
    ap.add_argument("--logy", action="store_true", default=None,
                    help="width figure: add log-scale copies of the quadratic panels "
                         "(default: only when there is a single quadratic panel)")
    args = ap.parse_args(argv)
    df = ls.load(args.file)
    if not df["done"].any():
        print("plot: %s: no DONE tasks yet" % args.file, file=sys.stderr)
        return 2
    kind = args.kind
    if kind == "auto":  # the figures of the regimes beyond the paper first (SPEC §6-8)
        regimes = set(df.loc[df["done"], "regime"])
        if regimes & {"alpha", "alpha_lin"}:
            kind = "alpha"
        elif plot_onestep.has_onestep(df):
            kind = "onestep"
        elif __import__("plot_kernel").has_krr(df):
            kind = "kernel"
    if kind == "auto":
        fin = df[df["done"] & np.isfinite(df["n"])]
        many = len(fin) and fin.groupby(["model", "d", "N"])["n"].nunique().max() >= 3
        kind = "learning" if many else "width"
    if kind == "width":
        fig = fig_width(df, args.logy)
    elif kind == "learning":
        fig = fig_learning(df)
    elif kind == "onestep":
        fig = plot_onestep.fig_onestep(df)
    elif kind == "kernel":
        fig = __import__("plot_kernel").fig_kernel(df)
    elif kind == "alpha":
        fig = __import__("plot_alpha").fig_alpha(df)
    else:
        fig = fig_curves(df, args.file)
    fig.savefig(args.output, dpi=args.dpi)
    plt.close(fig)
    print("plot: wrote %s (%s)" % (args.output, kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
