# lazysweep — build, tests, demo.  `make help` lists the targets.
#
# Our headers are found with -iquote only, so that <sched.h> and friends stay the system ones.
# User knobs (override on the command line or in an optional make.local):
#   MPICC        MPI C compiler wrapper               (default: mpicc)
#   PKGS         pkg-config names of the libraries    (Debian 12 names)
#   LIBS_EXTRA   extra link flags, e.g. for a cluster's module paths
#   PREFIX       install prefix for `make install`
#   DEBUG=1      -O0 -g3 instead of -O2 -g
#   SANITIZE=address,undefined   build with sanitizers (a report aborts the program)
#   B            build tree (default: build; make check also builds build/san with sanitizers)
#   NP           ranks used by `make demo` (default: nproc + 1)
#   SECONDS      how long `make fuzz` runs the job-file fuzzer (default 60)
MPICC      ?= mpicc
PKGS       ?= hdf5-openmpi lapacke openblas inih sleef
PREFIX     ?= /usr/local
PYTHON     ?= /usr/bin/python3
NP         ?= $(shell echo $$(( $$(nproc) + 1 )))
SECONDS    ?= 60
# The sanitizer tree of make check and make fuzz (gcc: float-cast-overflow is not part of
# undefined). Leak detection stays on: Open MPI's own allocations are suppressed by
# library name, which needs its components kept loaded and full unwinding.
SAN_B      := build/san
SAN_LIST   := address,undefined,float-cast-overflow
SAN_ENV    := ASAN_OPTIONS=fast_unwind_on_malloc=0:malloc_context_size=40:detect_leaks=1 \
              UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
              LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
              OMPI_MCA_mca_base_component_disable_dlclose=1
-include make.local

# `CC ?= mpicc` would do nothing (make predefines CC), so the wrapper has its own name.
CC := $(MPICC)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
GIT_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

OPT    := $(if $(DEBUG),-O0 -g3,-O2 -g)
SANFL  := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer,)
WARN   := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# -ffp-contract=off: no compiler-made FMAs (GCC's ISO default; clang's is on), so the vector
# kernels' "same bits in every width" holds whatever the target (rng_simd.c, nn.c, optim.c)
CFLAGS_ALL := -std=c11 -ffp-contract=off -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(SANFL) $(WARN) \
              -iquote include $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
BUILD_INFO := -DLS_VERSION='"$(GIT_VERSION)"' -DLS_CFLAGS='"$(strip $(OPT) $(SANFL))"'
LDLIBS_ALL := $(SANFL) $(PKG_LIBS) $(LIBS_EXTRA) -lm $(LDFLAGS)

B := build
LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
# the fuzzer's copy of the parser, with gcc's edge coverage (tests/fuzz_job.c)
FUZZ_SRC  := src/job.c src/grid.c src/plan.c src/log.c
FUZZ_OBJ  := $(FUZZ_SRC:src/%.c=$(B)/fuzz/%.o)

.PHONY: all deps check unit san san-unit fuzz fuzz-run torture demo bench install clean help
all: $(B)/lazysweep

help:
	@echo "make            build build/lazysweep"
	@echo "make deps       install missing Debian packages (root) or list what is missing"
	@echo "make check      all tests (runs deps first), then again under sanitizers in build/san"
	@echo "make fuzz SECONDS=600   the job-file fuzzer under sanitizers (default 60 s)"
	@echo "make torture    kill -9 campaign, fault points, disk full, 64 ranks (minutes)"
	@echo "make demo       small demo sweep on this machine (runs deps first)"
	@echo "make bench      benchmarks, printed as ratios"
	@echo "make install PREFIX=/path   install the program into PREFIX/bin"
	@echo "make clean      remove build/"

deps:
	@sh tests/deps.sh

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/obj/version.o: CFLAGS_ALL += $(BUILD_INFO)
$(B)/obj/version.o: .FORCE
.FORCE:

$(B)/liblazysweep.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/lazysweep: $(B)/obj/main.o $(B)/liblazysweep.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(B)/tests/%: tests/%.c tests/harness.h $(B)/liblazysweep.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/liblazysweep.a $(LDLIBS_ALL)

$(B)/fuzz/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -fsanitize-coverage=trace-pc -c $< -o $@

$(B)/fuzz/fuzz_job: tests/fuzz_job.c $(FUZZ_OBJ) $(B)/liblazysweep.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(FUZZ_OBJ) $(B)/liblazysweep.a $(LDLIBS_ALL)

$(B)/bench/%: bench/%.c $(B)/liblazysweep.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/liblazysweep.a $(LDLIBS_ALL)

unit: $(B)/lazysweep $(TEST_BIN)
	@sh tests/run.sh $(TEST_BIN)

# The sanitizer tree (SAN_B, SAN_LIST above): built first, so that tests/t_sanitize.sh
# (a short engine run, part of `unit`) can use it; then san-unit runs the unit tests, the
# bad-input corpus and the fuzzer in it.
san:
	@$(MAKE) --no-print-directory B=$(SAN_B) SANITIZE=$(SAN_LIST) \
	    $(SAN_B)/lazysweep $(TEST_SRC:tests/%.c=$(SAN_B)/tests/%) $(SAN_B)/fuzz/fuzz_job

check: deps
	@$(MAKE) --no-print-directory san
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory B=$(SAN_B) SANITIZE=$(SAN_LIST) san-unit

# In the sanitizer tree: the unit tests, the bad-input corpus and 60 s of fuzzing.
san-unit: $(B)/lazysweep $(TEST_BIN) $(B)/fuzz/fuzz_job
	@echo "sanitizers ($(SANITIZE)): $(B); to rerun a test by hand: $(SAN_ENV) COMMAND"
	@$(SAN_ENV) LOGS=$(B)/tests/logs LAZYSWEEP=$(B)/lazysweep FUZZ=$(B)/fuzz/fuzz_job \
	    FUZZ_SECONDS=60 SHELL_TESTS="tests/t_input.sh tests/fuzz.sh" sh tests/run.sh $(TEST_BIN)

fuzz:
	@$(MAKE) --no-print-directory B=$(SAN_B) SANITIZE=$(SAN_LIST) fuzz-run

fuzz-run: $(B)/fuzz/fuzz_job
	@$(SAN_ENV) FUZZ=$(B)/fuzz/fuzz_job FUZZ_SECONDS=$(SECONDS) sh tests/fuzz.sh

# Not in `make check`: >= 200 kill -9 trials, every fault point, disk-full scenarios, 64
# ranks (tests/torture.sh; TORTURE_TRIALS=N to change the count).
torture: $(B)/lazysweep
	@sh tests/torture.sh $${TORTURE_TRIALS:-200}

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh $(NP)

bench: deps
	@$(MAKE) --no-print-directory $(B)/lazysweep $(BENCH_BIN)
	@sh bench/run.sh $(BENCH_BIN)

install: $(B)/lazysweep
	install -d $(PREFIX)/bin
	install -m 755 $(B)/lazysweep $(PREFIX)/bin/lazysweep

clean:
	rm -rf $(B)

-include $(LIB_OBJ:.o=.d) $(B)/obj/main.d $(FUZZ_OBJ:.o=.d)
