#!/bin/sh
# The short torture of `make check`: 20 kill -9 trials at random moments (whole job, one
# worker, the master, inside the create step, during flushes, a killed resume), each then
# resumed and compared bitwise, nothing finished lost or rerun (tests/torture.sh --short;
# the full campaign is `make torture`, every fault point once is tests/t_faults.sh).
out=$(sh tests/torture.sh "${TORTURE_SHORT_TRIALS:-20}" --short 2>&1); st=$?
echo "$out"
if [ $st -eq 0 ]; then echo "torture: 1 passed, 0 failed"; else echo "torture: 0 passed, 1 failed"; fi
exit $st
