#!/bin/sh
# make deps: installs the Debian packages lazysweep needs when something is missing
# and we are root; does nothing when pkg-config and /usr/bin/python3 find everything
# (clusters: load your modules and set PKG_CONFIG_PATH / PKGS / MPICC instead).
PYTHON=${PYTHON:-/usr/bin/python3}
PKGS=${PKGS:-hdf5-openmpi lapacke openblas inih sleef}
DEBS="build-essential pkg-config libopenmpi-dev openmpi-bin libopenblas-dev liblapacke-dev
 libhdf5-openmpi-dev hdf5-tools librandom123-dev libinih-dev libsleef-dev python3-h5py python3-matplotlib
 python3-numpy python3-pandas python3-scipy"

missing=""
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v "${MPICC:-mpicc}" >/dev/null 2>&1 || missing="$missing mpicc"
command -v mpirun >/dev/null 2>&1 || missing="$missing mpirun"
for p in $PKGS; do
    pkg-config --exists "$p" 2>/dev/null || missing="$missing pkg-config:$p"
done
# Random123 is headers only (no pkg-config file): look where the compiler looks.
echo '#include <Random123/philox.h>' | ${CC:-cc} $(pkg-config --cflags $PKGS 2>/dev/null) -E -x c - \
    >/dev/null 2>&1 || missing="$missing Random123-headers"
"$PYTHON" -c 'import h5py, numpy, pandas, matplotlib, scipy' >/dev/null 2>&1 \
    || missing="$missing python:h5py/numpy/pandas/matplotlib/scipy"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing:$missing -> installing Debian packages (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || exit 1
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $DEBS >/dev/null || exit 1
    exit 0
fi
echo "deps: missing:$missing" >&2
echo "deps: on Debian/Ubuntu as root: apt-get install $DEBS" | tr -s ' \n' ' ' >&2
echo >&2
echo "deps: on a cluster: load the MPI, HDF5 (parallel), OpenBLAS/LAPACKE, inih and SLEEF modules," >&2
echo "      then set PKG_CONFIG_PATH, or PKGS=... MPICC=... LIBS_EXTRA=... in make.local" >&2
exit 2
