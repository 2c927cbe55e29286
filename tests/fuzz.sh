#!/bin/sh
# The job-file fuzzer (tests/fuzz_job.c) for FUZZ_SECONDS (default 60) on a seed corpus
# of every job file in the repository and the bad-input corpus. A finding (a sanitizer
# report or a failed check) is saved as crash-*.ini under the output directory; turn it
# into a case of tests/input/jobs/ once fixed. Run by `make fuzz` and `make check`.
fuzz=${FUZZ:-build/san/fuzz/fuzz_job}
out=$(dirname "$fuzz")/out
mkdir -p "$out"
# what could be reached: the instrumented call sites in the fuzzer's copy of the parser
total=$(objdump -dr "$(dirname "$fuzz")"/job.o "$(dirname "$fuzz")"/grid.o "$(dirname "$fuzz")"/plan.o \
        "$(dirname "$fuzz")"/log.o 2>/dev/null | grep -c 'R_X86_64_PLT32[[:space:]]*__sanitizer_cov_trace_pc')
echo "fuzz: instrumented basic blocks in job.c, grid.c, plan.c, log.c: $total"
"$fuzz" -seconds "${FUZZ_SECONDS:-60}" -seed "${FUZZ_SEED:-1}" -out "$out" \
    jobs/*.ini tests/jobs/*.ini tests/jobs/bad/*.ini tests/input/jobs/*.ini bench/*.ini
st=$?
if [ "$st" -eq 0 ]; then
    echo "fuzz: 1 passed, 0 failed"
else
    echo "fuzz: 0 passed, 1 failed (exit $st; inputs in $out)"
    ls "$out"/crash-* 2>/dev/null
fi
[ "$st" -eq 0 ]
