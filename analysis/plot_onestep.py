#!/usr/bin/python3
"""The one-step figure (SPEC §7): RF risk after one first-layer gradient step against the
step size eta~, from the onestep tasks of one or more lazysweep results files.

    /usr/bin/python3 analysis/plot.py results.h5 -o fig.png --kind onestep   # one file
    /usr/bin/python3 analysis/plot_onestep.py a.h5 b.h5 ... -o fig.png          # several

One panel per (file, model, target, d, n): the exact population risk R/R0 of the RF
readout at the moved first layer W1 (mean +- standard error over replicates), one curve
per width N, on a log-ish eta~ axis (0 at the left, inf at the right, log spacing in
between); eta~ = 0 is plain RF at W0. Lines in the curve's colour: the NT class optimum
at W0 (dashed, `risk_nt`) and the Eckart-Young risk (dotted, `risk_ey`), both at n = inf.
Values below the panel's floor (exact zeros) are drawn as triangles at the floor.
The panel title gives a0 and n0 as the job text states them.

Caution: the spiked-RF asymptotics of Ba et al. 2022 / Cui et al. 2024 do not apply to
sigma(t) = t^2 (their spike is proportional to E[z sigma(z)] = 0 here): these curves are
exact simulations of the protocol, not an illustration of those formulas.
"""
import argparse
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lazysweep as ls  # noqa: E402

FLOOR = 1e-6  # R/R0 below this is drawn at the floor (log panels)


def has_onestep(df):
    return bool((df["done"] & (df["regime"] == "onestep")).any())


def job_setting(df, key, default):
    """The value of a [train] key as the job text gives it (default when absent)."""
    text = df.attrs.get("job_text", "") or ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = re.search(r"^\s*%s\s*=\s*([^;#\n]+)" % re.escape(key), text, re.M)
    return m.group(1).strip() if m else default


def eta_positions(etas):
    """x positions: log10(eta~) for finite eta~ > 0, 0 one step left of the smallest,
    inf one step right of the largest; returns {eta: x} and the tick labels."""
    pos = sorted(e for e in etas if e > 0 and math.isfinite(e))
    logs = [math.log10(e) for e in pos]
    step = 1.0 if len(logs) < 2 else max(0.5, min(1.0, (logs[-1] - logs[0]) / (len(logs) - 1) * 1.5))
    lo = logs[0] if logs else 0.0
    hi = logs[-1] if logs else 0.0
    xmap = {e: math.log10(e) for e in pos}
    if any(e == 0 for e in etas):
        xmap[0.0] = lo - step
    if any(math.isinf(e) for e in etas):
        xmap[math.inf] = hi + step
    return xmap, lo, hi


def eta_label(e):
    if e == 0:
        return "0"
    if math.isinf(e):
        return "\u221e"
    return "%g" % e


def draw_panel(ax, sub, title):
    etas = sorted(set(sub["eta"].tolist()))
    xmap, lo, hi = eta_positions(etas)
    Ns = sorted(sub["N"].unique())
    cmap = plt.get_cmap("viridis")
    sub = sub.assign(x=sub["eta"].map(xmap))
    vals = sub["risk_pop_norm"].to_numpy(float)
    refs = np.concatenate([(sub["risk_nt"] / sub["r0"]).to_numpy(float),
                           (sub["risk_ey"] / sub["r0"]).to_numpy(float)])
    pos = np.concatenate([vals[vals > FLOOR], refs[refs > FLOOR]])
    ymin = max(pos.min() * 0.5, FLOOR) if len(pos) else FLOOR
    zero_ey = []
    markers = "osD^vP*X"
    for i, N in enumerate(Ns):
        col = cmap(0.85 * i / max(len(Ns) - 1, 1))
        s = sub[sub["N"] == N]
        g = s.groupby("x")["risk_pop_norm"].agg(["mean", "std", "count"]).reset_index()
        g["se"] = np.where(g["count"] > 1, g["std"] / np.sqrt(g["count"]), 0.0)
        low = g["mean"] < ymin
        ax.errorbar(g["x"][~low], g["mean"][~low], yerr=g["se"][~low], color=col,
                    marker=markers[i % len(markers)], ms=4.5, lw=1.5, capsize=2.5,
                    label="N = %d (N/d = %.2g)" % (N, N / s["d"].iloc[0]))
        if low.any():  # stacked per N so that one width's markers do not hide another's
            ax.plot(g["x"][low], np.full(low.sum(), ymin * 1.3 ** (i + 1)), ls="none", marker="v",
                    ms=7, color=col, mec="k", mew=0.5)
        nt = (s["risk_nt"] / s["r0"]).mean()
        ey = (s["risk_ey"] / s["r0"]).mean()
        if np.isfinite(nt) and nt > ymin:
            ax.axhline(nt, color=col, ls="--", lw=1.0, alpha=0.85)
        if np.isfinite(ey):
            if ey > ymin:
                ax.axhline(ey, color=col, ls=":", lw=1.3, alpha=0.9)
            else:
                zero_ey.append(N)
    leg = ax.legend(fontsize=7, loc="lower left", title="RF after the step" + (
        "\n(Eckart\u2013Young = 0 for N = %s)" % ", ".join(str(n) for n in zero_ey) if zero_ey else ""),
        title_fontsize=7, framealpha=0.85)
    leg.set_zorder(10)
    # breaks between 0 | finite | inf
    for e in (0.0, math.inf):
        if e in xmap:
            ax.axvline((xmap[e] + (lo if e == 0 else hi)) / 2, color="0.6", lw=0.8, ls=(0, (2, 2)))
    ticks = sorted(xmap.items(), key=lambda kv: kv[1])
    ax.set_xticks([x for _, x in ticks])
    ax.set_xticklabels([eta_label(e) for e, _ in ticks], fontsize=8)
    ax.set_xlabel("step size \u03b7\u0303 (log scale between 0 and \u221e)")
    ax.set_yscale("log")
    ax.set_ylim(ymin, 1.3)
    ax.set_ylabel("R / R\u2080 (population), log scale")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title, fontsize=9)


def panels(df):
    d = df[df["done"] & (df["regime"] == "onestep")]
    keys = d[["_file", "model", "target", "d", "n"]].drop_duplicates()
    return [tuple(k) for k in keys.itertuples(index=False)]


def fig_onestep(df):
    """The figure for one results file's DataFrame (ls.load), or several concatenated with
    a `_file` column (see main); attrs or per-file settings go into the panel titles."""
    if "_file" not in df:
        settings = {0: file_settings(df, "?")}
        df = df.assign(_file=0)
    else:
        settings = df.attrs["_settings"]
    keys = panels(df)
    if not keys:
        raise SystemExit("plot: no DONE onestep tasks to draw")
    ncol = min(len(keys), 3)
    nrow = int(math.ceil(len(keys) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol + 0.4, 4.5 * nrow + 1.4), squeeze=False)
    for idx, (fi, model, target, d, n) in enumerate(keys):
        ax = axes[idx // ncol][idx % ncol]
        sub = df[(df["_file"] == fi) & df["done"] & (df["regime"] == "onestep") &
                 (df["model"] == model) & (df["target"] == target) & (df["d"] == d) & (df["n"] == n)]
        name, a0, n0, center, rank = settings[fi]
        what = "quadratic, %s target" % target if model == "quadratic" else "mixture"
        if model == "quadratic" and target == "lowrank":
            what = "quadratic, lowrank:%s target" % rank
        reps = int(sub["replicate"].nunique())
        title = "%s: %s, d = %d, readout %s\na\u2080 = %s, n\u2080 = %s, c\u2080 %s; %d replicates" % (
            name, what, d, "n = \u221e" if math.isinf(n) else "n = %d" % n, a0, n0,
            "optimal" if center in ("yes", "1", "true") else "= 0", reps)
        draw_panel(ax, sub, title)
    for k in range(len(keys), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    fig.suptitle("One gradient step on the first layer, then RF (SPEC \u00a77): mean \u00b1 s.e.\n"
                 "the spiked-RF asymptotics of Ba et al. / Cui et al. do not apply to \u03c3 = t\u00b2 "
                 "(their spike \u221d E[z\u03c3(z)] = 0): exact simulation", fontsize=10)
    from matplotlib.lines import Line2D
    styles = [Line2D([], [], color="0.3", ls="--", lw=1.0), Line2D([], [], color="0.3", ls=":", lw=1.3),
              Line2D([], [], color="0.5", ls="none", marker="v", ms=7, mec="k", mew=0.5)]
    fig.legend(styles, ["NT optimum at W\u2080 (n = \u221e), in the colour of its N",
                        "Eckart\u2013Young (rank-N optimum), in the colour of its N",
                        "below the panel's floor (numerically exact: R/R\u2080 ~ 1e-12)"],
               loc="lower center", ncol=3, fontsize=8, frameon=False)
    bottom = 0.45 / fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, bottom, 1, 0.93))
    return fig


def file_settings(df, fallback):
    """(job name, a0, n0, centre, rank) of one file, for the panel titles."""
    return (df.attrs.get("job_name", fallback), job_setting(df, "onestep_a0", "1/N"),
            job_setting(df, "onestep_n0", "inf"), job_setting(df, "onestep_center", "yes"),
            lowrank_rank(df))


def lowrank_rank(df):
    t = job_setting(df, "target", "")
    return t.split(":", 1)[1].strip() if ":" in t else job_setting(df, "rank", "5")


def load_many(paths):
    """Several results files as one DataFrame with a `_file` column (their order) and
    attrs['_settings'] = {file: file_settings} for the panel titles."""
    frames, settings = [], {}
    for i, p in enumerate(paths):
        df = ls.load(p)
        settings[i] = file_settings(df, os.path.basename(p))
        frames.append(df.assign(_file=i))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["_settings"] = settings
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="The one-step figure from lazysweep results files.")
    ap.add_argument("files", nargs="+")
    ap.add_argument("-o", "--output", required=True, help="output file (.png, .pdf, .svg)")
    ap.add_argument("--dpi", type=int, default=100)
    args = ap.parse_args(argv)
    df = load_many(args.files)
    fig = fig_onestep(df)
    fig.savefig(args.output, dpi=args.dpi)
    plt.close(fig)
    print("plot: wrote %s (onestep)" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
