# lazysweep — build, tests, demo.  `make help` lists the targets.
#
# Our headers are found with -iquote only, so that <sched.h> and friends stay the system ones.
# User knobs (override on the command line or in an optional make.local):
#   MPICC        MPI C compiler wrapper               (default: mpicc)
#   PKGS         pkg-config names of the libraries    (Debian 12 names)
#   LIBS_EXTRA   extra link flags, e.g. for a cluster's module paths
#   PREFIX       install prefix for `make install`
#   DEBUG=1      -O0 -g3 instead of -O2 -g
#   SANITIZE=address,undefined   build with sanitizers
#   NP           ranks used by `make demo` (default: nproc + 1)
MPICC      ?= mpicc
PKGS       ?= hdf5-openmpi lapacke openblas inih
PREFIX     ?= /usr/local
PYTHON     ?= /usr/bin/python3
NP         ?= $(shell echo $$(( $$(nproc) + 1 )))
-include make.local

# `CC ?= mpicc` would do nothing (make predefines CC), so the wrapper has its own name.
CC := $(MPICC)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
GIT_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

OPT    := $(if $(DEBUG),-O0 -g3,-O2 -g)
SANFL  := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer,)
WARN   := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(SANFL) $(WARN) \
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

.PHONY: all deps check unit san torture demo bench install clean help
all: $(B)/lazysweep

help:
	@echo "make            build build/lazysweep"
	@echo "make deps       install missing Debian packages (root) or list what is missing"
	@echo "make check      all tests (runs deps first; also a sanitizer build in build/asan)"
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

$(B)/bench/%: bench/%.c $(B)/liblazysweep.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/liblazysweep.a $(LDLIBS_ALL)

unit: $(B)/lazysweep $(TEST_BIN)
	@sh tests/run.sh $(TEST_BIN)

# A second tree built with SANITIZE=address,undefined, whose unit tests and a short engine
# run tests/t_sanitize.sh runs within `make check`.
SAN_B := build/asan
san:
	@$(MAKE) --no-print-directory B=$(SAN_B) SANITIZE=address,undefined \
	    $(SAN_B)/lazysweep $(TEST_SRC:tests/%.c=$(SAN_B)/tests/%)

check: deps
	@$(MAKE) --no-print-directory san
	@$(MAKE) --no-print-directory unit

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

-include $(LIB_OBJ:.o=.d) $(B)/obj/main.d
