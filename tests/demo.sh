#!/bin/sh
# make demo: the demo sweep on this machine. Until the engine lands this stops after
# validating the job and showing its plan (the sweep itself needs `lazysweep run`).
NP=${1:-3}
set -e
./build/lazysweep plan jobs/demo.ini
echo
echo "demo: the engine (lazysweep run / aggregate) is not built yet; this demo stops at 'plan'."
