#!/bin/sh
# make demo: the demo sweep on this machine — mpirun on NP ranks (rank 0 hands out the
# tasks, the others compute), then the aggregate table and the figure.
NP=${1:-3}
out=build/demo
set -e
rm -rf "$out"
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # harmless when not root
export OPENBLAS_NUM_THREADS=1
echo "== lazysweep plan jobs/demo.ini"
./build/lazysweep plan jobs/demo.ini --show 0
echo
echo "== mpirun -np $NP build/lazysweep run jobs/demo.ini -o $out/demo.h5"
start=$(date +%s)
mpirun --oversubscribe -np "$NP" ./build/lazysweep run jobs/demo.ini -o "$out/demo.h5"
echo "(sweep wall time: $(( $(date +%s) - start )) s)"
echo
echo "== lazysweep aggregate $out/demo.h5 --csv $out/demo.csv  (risks / R0; theory = SPEC limit)"
./build/lazysweep aggregate "$out/demo.h5" --csv "$out/demo.csv"
if [ -f analysis/plot.py ]; then
    echo
    MPLBACKEND=Agg ${PYTHON:-/usr/bin/python3} analysis/plot.py "$out/demo.h5" -o "$out/demo.png"
    echo "figure: $out/demo.png"
fi
