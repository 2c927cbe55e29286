#!/bin/sh
# bench/device.sh: the 16-core measurement of docs/BENCH.md on a machine without parallel
# HDF5: builds lazysweep against Debian 12 packages unpacked with `dpkg -x` into a private
# prefix, then runs the kernels, the null dispatch rate, rank scaling on bench/scale.ini
# (1 2 4 8 16 ranks, results compared) and the NumPy end-to-end comparison.
#
#   sh bench/device.sh DEBS_DIR [PREFIX]     (run from a copy of the repository root)
#
# DEBS_DIR holds the .deb files of notes/machine.md (apt-get download libhdf5-openmpi-103-1
# libhdf5-openmpi-dev libhdf5-openmpi-hl-100 libsz2 libaec0 liblapacke liblapacke-dev
# libtmglib3 libinih1 libinih-dev librandom123-dev libopenblas0-pthread libopenblas-dev
# libopenblas-pthread-dev libsleef3 libsleef-dev; notes/machine.md predates SLEEF).
# OPENBLAS_CORETYPE is passed on to every rank when set (the second device run set
# SkylakeX: OpenBLAS 0.3.21 does not know that Xeon and runs its Prescott kernels otherwise). GIT_VERSION, SCALE_RANKS, NULL_RANKS, PYTHON may be set.
set -u
D=$1
P=${2:-/tmp/lsprefix}
[ -d "$P/usr" ] || { mkdir -p "$P"; for f in "$D"/*.deb; do dpkg -x "$f" "$P"; done; }
L=$P/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$L/hdf5/openmpi:$L/openblas-pthread:$L${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export PYTHON=${PYTHON:-python3} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-}
[ -z "$OPENBLAS_CORETYPE" ] && unset OPENBLAS_CORETYPE
export MPIRUN="mpirun --oversubscribe -x LD_LIBRARY_PATH -x OPENBLAS_NUM_THREADS${OPENBLAS_CORETYPE:+ -x OPENBLAS_CORETYPE}"
echo "== machine"
nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread|Core|Socket|L3"; grep -m1 -E 'model\s*:' /proc/cpuinfo
grep -o -w -E 'avx2|avx512f|amx_tile' /proc/cpuinfo | sort | uniq -c
mpirun --version | head -1; mpicc --version | head -1
mkdir -p build
make -j"$(nproc)" MPICC=mpicc ${GIT_VERSION:+GIT_VERSION=$GIT_VERSION} \
  PKG_CFLAGS="-I$P/usr/include/hdf5/openmpi -I$P/usr/include -I$P/usr/include/x86_64-linux-gnu -I$P/usr/include/x86_64-linux-gnu/openblas-pthread" \
  PKG_LIBS="-L$L/hdf5/openmpi -L$L/openblas-pthread -L$L -lhdf5 -llapacke -lopenblas -linih -lsleef" \
  build/lazysweep build/bench/kernels >build/device-build.log 2>&1 || { tail -30 build/device-build.log; exit 1; }
echo "== kernels (1 thread)"
./build/bench/kernels
echo "== null dispatch"
sh bench/scaling.sh ./build/lazysweep bench/null.ini /tmp/bn ${NULL_RANKS:-1 2 4 8 16}
echo "== scaling bench/scale.ini"
sh bench/scaling.sh ./build/lazysweep bench/scale.ini /tmp/bs ${SCALE_RANKS:-1 2 4 8 16}
"$PYTHON" - ${SCALE_RANKS:-1 2 4 8 16} <<'PY'
import sys
import h5py, numpy as np
for P in sys.argv[1:]:
    with h5py.File(f"/tmp/bs/np{P}.h5", "r", locking=False) as f:
        s, rk = f["results"]["seconds"][...], f["results"]["rank"][...]
    per = np.bincount(rk, weights=s)
    print(f"np{P}: task seconds sum {s.sum():.2f} max {s.max():.3f}; "
          f"busy per worker min {per[per > 0].min():.2f} max {per.max():.2f}")
PY
echo "== end to end: lazysweep 1 rank vs NumPy baseline ($PYTHON)"
rm -f /tmp/e2e.h5 /tmp/e2e.h5.journal
s=$(date +%s.%N)
$MPIRUN -np 1 ./build/lazysweep run bench/e2e.ini -o /tmp/e2e.h5 --quiet
m=$(date +%s.%N)
"$PYTHON" bench/baseline.py bench/e2e.ini /tmp/e2e.h5
e=$(date +%s.%N)
awk -v a="$s" -v b="$m" -v c="$e" 'BEGIN {printf "whole command: NumPy %.2f s, lazysweep %.2f s, ratio %.2f\n", c-b, b-a, (c-b)/(b-a)}'
