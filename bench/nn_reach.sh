#!/bin/sh
# NN honesty (issue 9): does the NN fit reach its exact class optimum at n = inf?
# Runs every target x nn_a_init at d = 40, 50, 60, rho = 1/4, 1/2, 1, 3/2, 3 replicates,
# with the job's NN settings given as extra [train] lines, and prints per (target, init):
# tasks, reached (risk_pop within 1e-6 R0 of the optimum computed here from the stored B,
# independently of the engine), the stop reasons, and seconds per task.
# Usage: bench/nn_reach.sh [BINARY] [NP] ["train key = value; ..."]
bin=${1:-build/lazysweep}
np=${2:-2}
extra=${3:-}
py=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d /tmp/nn_reach.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for target in exponential lowrank signed wigner; do
  for init in normal positive shared; do
    f=$work/$target-$init
    {
      printf '[sweep]\nname = reach\nseed = %s\nreplicates = 3\n' "${SEED:-11}"
      printf '[model]\ntarget = %s\nrank = 8\n' "$target"
      printf '[grid]\nd = 40, 50, 60\nrho = 0.25, 0.5, 1, 1.5\nn = inf\nregime = nn\n'
      printf '[train]\nnn_a_init = %s\n' "$init"
      echo "$extra" | tr ';' '\n'
      printf '[eval]\ntest_samples = 0\nsave_weights = yes\n'
    } >"$f.ini"
    mpirun -np "$np" "$bin" run "$f.ini" -o "$f.h5" >"$f.log" 2>&1
  done
done
"$py" - "$work" <<'PY'
import sys, glob, os, h5py, numpy as np
work = sys.argv[1]
tot = {}
print(f"{'target':12s} {'init':9s} {'tasks':>5s} {'reached':>7s}  stops  (max gap/R0)  s/task")
for f in sorted(glob.glob(os.path.join(work, "*.h5"))):
    target, init = os.path.basename(f)[:-3].split("-")
    with h5py.File(f, "r", locking=False) as h:
        t, r, st = h["tasks"][:], h["results"][:], h["status"][:]
        names = dict(p.split("=") for p in h["results"].attrs["stop_names"].decode().split() if "=" in p) \
            if isinstance(h["results"].attrs["stop_names"], bytes) else \
            dict(p.split("=") for p in str(h["results"].attrs["stop_names"]).split() if "=" in p)
        reached, stops, gaps, secs = 0, {}, [], []
        for i in range(len(t)):
            d, N, rep = int(t["d"][i]), int(t["N"][i]), int(t["replicate"][i])
            B = h[f"targets/d{d}/B"][rep]
            lam = np.linalg.eigvalsh(B)
            if init == "shared":   # one scalar of either sign: best PSD or NSD rank-N fit
                pos = np.sort(lam[lam > 0])[::-1][:N]; neg = np.sort(-lam[lam < 0])[::-1][:N]
                opt = 2 * (np.sum(lam**2) - max(np.sum(pos**2), np.sum(neg**2)))
            else:                  # Eckart-Young
                a = np.sort(np.abs(lam))[::-1]
                opt = 2 * np.sum(a[N:]**2)
            r0 = r["r0"][i]
            gap = (r["risk_pop"][i] - opt) / r0 if st[i] == 1 else np.inf
            gaps.append(gap)
            ok = gap <= 1e-6
            reached += ok
            s = names.get(str(int(r["stop"][i])), "?") if st[i] == 1 else "failed"
            stops[s] = stops.get(s, 0) + 1
            secs.append(r["seconds"][i])
        n = len(t)
        tot.setdefault("n", 0); tot["n"] += n; tot.setdefault("ok", 0); tot["ok"] += reached
        print(f"{target:12s} {init:9s} {n:5d} {reached:7d}  " +
              " ".join(f"{k}={v}" for k, v in sorted(stops.items())) +
              f"  ({np.nanmax(gaps):.2e})  {np.mean(secs):.3f}")
print(f"reached {tot['ok']} of {tot['n']} ({100*tot['ok']/tot['n']:.1f} %)")
PY
rm -rf "$work"
