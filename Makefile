# ntkc — build, test, demo, bench.  `make demo` and `make test` work on a fresh
# Debian machine: missing headers make the deps step install the packages.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
BLAS_CFLAGS := -I/usr/include/x86_64-linux-gnu/openblas-pthread
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE $(BLAS_CFLAGS) $(SAN)
LDLIBS  := -ltcc -lpcre2-8 -larpack -lgsl -lopenblas -llapacke -ldl -lpthread -lm
LDFLAGS := -fopenmp $(SAN)

# ---- Layering (docs/architecture.md, "Layering") ------------------------------
# Each folder compiles with the include paths of the folders it may use and no
# others, so a header outside them is a build error, not a review comment. A
# new folder needs its line here (the build stops and says so).
comma := ,
SUP := compiler/support
# The compiler never sees include/: its error record is compiler/support's
# Diag, converted to the public ntkc_error where the runtime calls it.
INC.compiler/support  :=
INC.compiler/front    := $(SUP)
INC.compiler/sym      := $(SUP)
INC.compiler/act      := $(SUP) compiler/front compiler/sym
INC.compiler/ir       := $(SUP) compiler/front compiler/sym compiler/act
# compiler/abi: the ABI between emitted code and the engines, plain C99.
INC.compiler/abi      :=
INC.compiler/emit     := $(SUP) compiler/front compiler/sym compiler/act compiler/ir compiler/abi
# runtime/tool holds one header, ntkc_tool.h: what the CLI and ntkc-mpi use
# beyond include/ntkc.h. Every runtime room sees it (its declarations are the
# runtime's own); runtime/error converts Diag and reports into ntkc_error.
RT  := include runtime/tool $(SUP) runtime/error
INC.runtime/tool      := include
INC.runtime/error     := $(RT)
INC.runtime/io        := $(RT)
INC.runtime/predict   := $(RT)
INC.runtime/jit       := $(RT) runtime/io
INC.runtime/engine    := $(RT) runtime/io compiler/abi
INC.runtime/finite    := $(RT) runtime/io runtime/engine compiler/abi compiler/ir compiler/act
INC.runtime/api       := $(RT) compiler/front compiler/sym compiler/act compiler/ir compiler/emit \
                         compiler/abi runtime/io runtime/predict runtime/jit runtime/engine runtime/finite
INC.runtime/dynamics  := $(INC.runtime/api) runtime/api runtime/finite
INC.runtime/shlib     := include
# The CLI (and ntkc-mpi): the public header and the tool header, nothing else.
INC.cli               := include runtime/tool
# Kernel-time C compiles alone (its files include only each other).
INC.compiler/kernel_c := compiler/abi
ROOMS     := $(sort $(patsubst %/,%,$(dir $(wildcard compiler/*/*.h runtime/*/*.h))))
INC.ALL   := include $(ROOMS)
INC.tests := $(INC.ALL)
INC.tools := $(INC.ALL)
INC.fuzz  := $(INC.ALL)
# The bench programs are tools of the CLI's kind (ntkc.h and ntkc_tool.h); bench_parse
# times the front end itself.
INC.bench       := include runtime/tool
INC.bench_parse := compiler/support compiler/front compiler/sym compiler/act compiler/ir
INC.bench_windows := compiler/kernel_c # includes attn_runtime.c itself, built with PRIM_FLAGS
room_of   = $(patsubst %/,%,$(dir $(1)))
room_inc  = $(if $(filter undefined,$(origin INC.$(call room_of,$(1)))),$(error $(1): no include rule for \
            the folder $(call room_of,$(1)); add INC.$(call room_of,$(1)) to the Makefile's layering table),\
            $(addprefix -I,$(INC.$(call room_of,$(1)))))

LIB_SRC  := $(sort $(filter-out compiler/kernel_c/% runtime/shlib/%,$(wildcard compiler/*/*.c runtime/*/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC  := $(sort $(filter-out cli/mpi_%,$(wildcard cli/*.c)))
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
# ntkc-mpi (cli/mpi_*.c): the kernel and predict commands over MPI ranks. Built
# by `all` when Open MPI's mpicc is installed, or by `make mpi` (which installs
# Open MPI and ScaLAPACK); plain ntkc never links MPI.
MPI_SRC  := $(sort $(wildcard cli/mpi_*.c))
MPI_OBJ  := $(MPI_SRC:%.c=$(BUILD)/%.o)
HAVE_MPI := $(shell command -v mpicc >/dev/null 2>&1 && [ -e /usr/include/scalapack.h -o -e /usr/lib/x86_64-linux-gnu/libscalapack-openmpi.so ] && echo 1)
MPI_CFLAGS = $(shell mpicc --showme:compile)
MPI_LIBS   = $(shell mpicc --showme:link) -lscalapack-openmpi
TEST_SRC := $(sort $(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
DEPS_STAMP := $(BUILD)/.deps-ok
# Block primitives for the libtcc back end: generated from the activation
# table by tools/gen_host_prims, compiled with the optimiser against plain
# libm, so every back end gets the same bits (compiler/emit/emit_prims.h).
# Kernel-time C (compiler/kernel_c/): real C files, each compiled on its own
# as a check, whose marked spans tools/embed_text turns into the strings the
# emitters print (compiler/emit/kernel_text.h).
# One source per scalar type: the float32 variants of `--precision single`
# (KERNEL_GEN) are made from the float64 sources by compiler/kernel_c/float.sed.
KERNEL_GEN   := $(BUILD)/gen/kernel_c/block_prims_f.h $(BUILD)/gen/kernel_c/block_prims_f.c \
                $(BUILD)/gen/kernel_c/image_runtime_f.c $(BUILD)/gen/kernel_c/graph_entry_f.c \
                $(BUILD)/gen/kernel_c/attn_runtime_f.c
.SECONDARY: $(KERNEL_GEN)
KERNEL_C     := compiler/kernel_c/libm.h compiler/kernel_c/ntkc_math.h compiler/kernel_c/block_prims.c \
                compiler/kernel_c/ntkc_math_f.h $(KERNEL_GEN) \
                compiler/kernel_c/image_runtime.c compiler/kernel_c/graph_entry.c \
                compiler/kernel_c/attn_runtime.c
KERNEL_CHECK := $(patsubst %.c,$(BUILD)/kernel_c/%.ok,$(notdir $(filter %.c,$(KERNEL_C))))
KERNEL_TEXT  := $(BUILD)/gen/kernel_text
# Compiled alone, a runtime file's static functions have no caller (clang
# warns of that even for static inline ones): -Wno-unused-function.
KERNEL_FLAGS := -std=c99 -pedantic -O2 -Wall -Wextra -Werror -Wno-unused-function -Wmissing-prototypes \
                -DNTKC_KERNEL_CHECK -Icompiler/abi
COMPILER_OBJ := $(filter $(BUILD)/compiler/%,$(LIB_OBJ)) $(KERNEL_TEXT).o
HOST_PRIMS   := $(BUILD)/gen/host_prims
PRIM_FLAGS   := -O3 -march=native -fno-math-errno -fno-trapping-math -ffp-contract=off

.PHONY: all mpi test-mpi check-mpi deps test test-criterion test-python test-install test-python-leak demo bench bench-parse figures figure-long-range \
        check-random check-security check-monte-carlo check-long check-asan check-valgrind valgrind-suite clean regen fuzz fuzz-build fuzz-afl \
        fuzz-build-afl install uninstall check-layering
all: $(BUILD)/ntkc $(BUILD)/libntkc.a $(BUILD)/libntkc.so $(if $(HAVE_MPI),$(BUILD)/ntkc-mpi)

# Installs the Debian packages when any header we build against is missing.
$(DEPS_STAMP):
	@for h in /usr/include/libtcc.h /usr/include/pcre2.h /usr/include/criterion/criterion.h \
	          /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h /usr/include/lapacke.h /usr/include/arpack/arpack.h /usr/include/gsl/gsl_odeiv2.h \
	          /usr/lib/x86_64-linux-gnu/tcc/libtcc1.a; do \
	    [ -e $$h ] || { echo "missing $$h: installing dependencies"; ./scripts/install-deps.sh; break; }; \
	done
	@mkdir -p $(BUILD) && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call room_inc,$<) -MMD -MP -c $< -o $@

$(BUILD)/kernel_c/%.ok: compiler/kernel_c/%.c $(filter %.h,$(KERNEL_C)) compiler/abi/kernel_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_FLAGS) -c $< -o $(@:.ok=.o) && touch $@

$(BUILD)/kernel_c/%_f.ok: $(BUILD)/gen/kernel_c/%_f.c $(filter %.h,$(KERNEL_C)) compiler/abi/kernel_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_FLAGS) -Icompiler/kernel_c -c $< -o $(@:.ok=.o) && touch $@

float_variant = @mkdir -p $(@D) && \
    { echo "/* Generated by make from $< with float.sed: do not edit. */"; sed -f compiler/kernel_c/float.sed $<; } \
    >$@.tmp && mv $@.tmp $@
$(BUILD)/gen/kernel_c/%_f.c: compiler/kernel_c/%.c compiler/kernel_c/float.sed
	$(float_variant)
$(BUILD)/gen/kernel_c/%_f.h: compiler/kernel_c/%.h compiler/kernel_c/float.sed
	$(float_variant)

# embed_text also computes the call graph of the kernel text (tools/kernel_calls.c),
# so an emitter keeps a net's static functions without reading the text again.
$(BUILD)/embed_text: tools/embed_text.c tools/kernel_calls.c tools/kernel_calls.h compiler/emit/kernel_text.h \
                     | $(DEPS_STAMP)
	$(CC) $(CFLAGS) $(call room_inc,$<) -o $@ tools/embed_text.c tools/kernel_calls.c

$(KERNEL_TEXT).c: $(BUILD)/embed_text $(KERNEL_C) $(KERNEL_CHECK)
	@mkdir -p $(dir $@)
	$(BUILD)/embed_text $@ $(KERNEL_C)

$(KERNEL_TEXT).o: $(KERNEL_TEXT).c compiler/emit/kernel_text.h
	$(CC) $(CFLAGS) -Icompiler/emit -c $< -o $@

$(BUILD)/libntkc-compiler.a: $(COMPILER_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/gen_host_prims: $(BUILD)/tools/gen_host_prims.o $(BUILD)/libntkc-compiler.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# One run writes both: the host primitives and, for the bench's roofline,
# the arithmetic every emitted file starts with.
$(HOST_PRIMS).c $(BUILD)/gen/ntkc_math.h &: $(BUILD)/gen_host_prims
	@mkdir -p $(dir $(HOST_PRIMS))
	$(BUILD)/gen_host_prims $(HOST_PRIMS).c $(BUILD)/gen/ntkc_math.h

$(HOST_PRIMS).o: $(HOST_PRIMS).c
	$(CC) $(CFLAGS) $(addprefix -I,$(INC.ALL)) $(PRIM_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libntkc.a: $(LIB_OBJ) $(KERNEL_TEXT).o $(HOST_PRIMS).o
	rm -f $@ && ar rcs $@ $^

# The shared library (for Python's ctypes and for pkg-config users): the same
# sources compiled a second time with -fPIC into $(BUILD)/pic/, so libntkc.a
# and the ntkc binary keep their position-dependent code. Exports only the
# functions of include/ntkc.h (a version script made from the header); the
# SONAME carries the major version of NTKC_VERSION.
VERSION  := $(shell sed -n 's/^\#define NTKC_VERSION "\(.*\)"/\1/p' include/ntkc.h)
SONAME   := libntkc.so.$(firstword $(subst ., ,$(VERSION)))
SO_FILE  := libntkc.so.$(VERSION)
PIC_OBJ  := $(LIB_SRC:%.c=$(BUILD)/pic/%.o) $(BUILD)/pic/gen/kernel_text.o $(BUILD)/pic/gen/host_prims.o \
            $(BUILD)/pic/runtime/shlib/tcc_pic_shim.o

$(BUILD)/pic/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call room_inc,$<) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/pic/gen/kernel_text.o: $(KERNEL_TEXT).c compiler/emit/kernel_text.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icompiler/emit -fPIC -c $< -o $@

$(BUILD)/pic/gen/host_prims.o: $(HOST_PRIMS).c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(addprefix -I,$(INC.ALL)) $(PRIM_FLAGS) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/libntkc.map: include/ntkc.h
	@mkdir -p $(dir $@)
	{ echo 'NTKC_0 { global:'; grep -o '\bntkc_[a-z0-9_]*(' $< | tr -d '(' | sort -u | sed 's/$$/;/'; \
	  echo 'local: *; };'; } >$@

$(BUILD)/$(SO_FILE): $(PIC_OBJ) $(BUILD)/libntkc.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/libntkc.map \
	    -Wl,--exclude-libs,ALL -Wl,-z,defs -o $@ $(PIC_OBJ) $(LDLIBS)

$(BUILD)/libntkc.so: $(BUILD)/$(SO_FILE)
	ln -sf $(SO_FILE) $(BUILD)/$(SONAME) && ln -sf $(SO_FILE) $@

$(BUILD)/ntkc: $(CLI_OBJ) $(BUILD)/libntkc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cli/mpi_%.o: cli/mpi_%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call room_inc,$<) $(MPI_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/ntkc-mpi: $(MPI_OBJ) $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJ)) $(BUILD)/libntkc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(MPI_LIBS) $(LDLIBS)

mpi:
	@command -v mpicc >/dev/null || ./scripts/install-deps.sh
	$(MAKE) $(BUILD)/ntkc-mpi

# The MPI tests (tests/mpi/run.sh): ntkc-mpi against ntkc, P = 1..4 ranks
# (oversubscribed). `make test` runs them when MPI is installed; MPI_TESTS=0
# skips them (check-asan does: Open MPI's own allocations leak under ASan).
MPI_TESTS ?= $(if $(HAVE_MPI),1,0)
test-mpi: $(BUILD)/ntkc $(BUILD)/ntkc-mpi
	./tests/mpi/run.sh $(abspath $(BUILD)/ntkc) $(abspath $(BUILD)/ntkc-mpi)

# The MPI tests with every sweep on every rank count 1..4 (make test runs
# the fully connected sweeps on all four, the others on 3 and 4).
check-mpi: $(BUILD)/ntkc $(BUILD)/ntkc-mpi
	MPI_SWEEP=1 ./tests/mpi/run.sh $(abspath $(BUILD)/ntkc) $(abspath $(BUILD)/ntkc-mpi)

$(BUILD)/ntkc-tests: $(TEST_OBJ) $(BUILD)/libntkc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs criterion) $(LDLIBS)

# The layering table checked on the sources (scripts/check_layering.py): every
# #include of a project header resolves to the file's folder or one the table
# allows, so the CLI sees include/ and runtime/tool/ only.
LAYER_FOLDERS := $(sort $(patsubst %/,%,$(dir $(wildcard compiler/*/*.[ch] runtime/*/*.[ch])))) cli
check-layering:
	@/usr/bin/python3 scripts/check_layering.py $(foreach f,$(LAYER_FOLDERS),$(f)=$(subst $(eval) ,$(comma),$(strip $(INC.$(f)))))

# Tests run from the project root (they read examples/, generated/, data/).
# The Criterion suite, then the Python package's tests and the install check
# (skipped when TEST_ARGS narrows the Criterion run to some suites).
BENCH_PROGS := $(addprefix $(BUILD)/bench/,bench_fc bench_cnn bench_call bench_parse bench_windows)
# The bench programs are built (not run) so that make bench cannot rot unnoticed.
# glibc hands blocks over 128 KB back to the kernel when freed, so every
# fresh one page-faults again: the Monte Carlo tests build finite networks of
# tens of MB per sample, and on a virtual machine those faults cost more than
# the arithmetic (34 s of CPU instead of 6 s for one test here). The tests
# keep freed memory in the process instead.
TEST_MALLOC := GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295
# The Criterion suite (-j2), the MPI tests (two at a time) and the Python
# tests run side by side, then the install check in the Python tests' place,
# each one's output kept together by -O: one after the other, a core idled
# through the Criterion suite's last tests and through the MPI tests' mpirun
# starts, and the Python tests and the install check each kept one core busy.
TEST_AFTER := $(if $(filter 1,$(MPI_TESTS)),test-mpi) $(if $(TEST_ARGS),,test-python $(if $(SAN),,test-install))
TEST_PARTS := test-criterion $(TEST_AFTER)
# Suites named *_long (the Monte Carlo sweeps) run in make check-monte-carlo,
# not here; a --filter in TEST_ARGS replaces this one (Criterion keeps the last).
TEST_FILTER := --filter '!(*_long)/*'
test: check-layering $(BUILD)/ntkc-tests $(BUILD)/ntkc $(BUILD)/libntkc.so $(if $(SAN),,$(BENCH_PROGS))
	$(if $(filter 1,$(MPI_TESTS)),,@echo "MPI tests skipped ($(if $(HAVE_MPI),MPI_TESTS=0,no Open MPI: make mpi installs it))")
	$(MAKE) --no-print-directory -j3 -O $(TEST_PARTS)
	$(if $(SAN),$(if $(TEST_ARGS),,@echo "note: test-install skipped in a sanitizer build (its programs are not instrumented)"))

test-criterion: $(BUILD)/ntkc-tests $(BUILD)/ntkc
	$(TEST_MALLOC) OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive NTKC_BIN=$(abspath $(BUILD)/ntkc) ./$(BUILD)/ntkc-tests -j2 $(TEST_FILTER) $(TEST_ARGS)

# The Python package (python/ntkc) over this build's libntkc.so, checked
# against this build's ntkc. Under ASan the interpreter is not instrumented:
# libasan is preloaded and its leak check (which would report Python's own
# allocations) is off.
PYTHON ?= /usr/bin/python3
PY_ENV := OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive NTKC_LIB=$(abspath $(BUILD)/libntkc.so) \
          NTKC_BIN=$(abspath $(BUILD)/ntkc) PYTHONPATH=$(abspath python) PYTHONDONTWRITEBYTECODE=1 \
          $(if $(findstring address,$(SAN)),LD_PRELOAD=$(shell $(CC) -print-file-name=libasan.so) \
          ASAN_OPTIONS=detect_leaks=0:$(ASAN_OPTIONS))
test-python: $(BUILD)/libntkc.so $(BUILD)/ntkc
	$(PY_ENV) $(PYTHON) -m unittest discover -s python/tests -t python $(PY_TEST_ARGS)

# 10,000 compile + kernel calls from Python: resident memory must stay flat.
test-python-leak: $(BUILD)/libntkc.so
	$(PY_ENV) $(PYTHON) python/tests/leak_check.py 10000

# make install into a scratch prefix: pkg-config builds the README's C
# example against the installed library, the installed package imports, and
# make uninstall leaves nothing behind. (+: the script runs make, which then
# shares make test's job slots instead of warning that it has none.)
test-install: all
	+./scripts/test_install.sh $(BUILD)

# ---- install ----------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=staging]: the ntkc binary, the
# libraries, include/ntkc.h, ntkc.pc, the man page and the Python package (in
# Debian's site directory for PREFIX, which records where the library is).
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man/man1
PYDIR   ?= $(LIBDIR)/python3/dist-packages
PY_SRC  := $(sort $(wildcard python/ntkc/*.py))
D       := $(DESTDIR)
install: all
	install -d $(D)$(BINDIR) $(D)$(LIBDIR)/pkgconfig $(D)$(INCDIR) $(D)$(MANDIR) $(D)$(PYDIR)/ntkc
	install -m 755 $(BUILD)/ntkc $(D)$(BINDIR)/ntkc
	install -m 644 $(BUILD)/libntkc.a $(D)$(LIBDIR)/libntkc.a
	install -m 755 $(BUILD)/$(SO_FILE) $(D)$(LIBDIR)/$(SO_FILE)
	ln -sf $(SO_FILE) $(D)$(LIBDIR)/$(SONAME)
	ln -sf $(SO_FILE) $(D)$(LIBDIR)/libntkc.so
	install -m 644 include/ntkc.h $(D)$(INCDIR)/ntkc.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' runtime/shlib/ntkc.pc.in >$(D)$(LIBDIR)/pkgconfig/ntkc.pc
	install -m 644 docs/ntkc.1 $(D)$(MANDIR)/ntkc.1
	install -m 644 $(PY_SRC) $(D)$(PYDIR)/ntkc/
	printf '"""Written by make install: where libntkc.so.$(firstword $(subst ., ,$(VERSION))) is."""\nLIBDIR = %s\n' \
	    "'$(LIBDIR)'" >$(D)$(PYDIR)/ntkc/_install.py

uninstall:
	rm -f $(D)$(BINDIR)/ntkc $(D)$(LIBDIR)/libntkc.a $(D)$(LIBDIR)/$(SO_FILE) $(D)$(LIBDIR)/$(SONAME) \
	    $(D)$(LIBDIR)/libntkc.so $(D)$(INCDIR)/ntkc.h $(D)$(LIBDIR)/pkgconfig/ntkc.pc $(D)$(MANDIR)/ntkc.1
	rm -rf $(D)$(PYDIR)/ntkc

# The property test over random nets at scale (tests/random_nets.c): NETS nets
# from SEED, each against the Monte Carlo finite networks or refused by a named
# rule; ANYWHERE=0 keeps activations on Gaussian inputs (nets the compiler
# accepts), VERBOSE=1 lists every net. A net the check cannot yet judge
# (its kernels 20 % off pass too) gets its samples doubled up to
# MC_MAX_SAMPLES while the next round fits in MC_CPU seconds of CPU.
NETS ?= 50
MC_MAX_SAMPLES ?= 512
MC_CPU ?= 60
SEED ?= 1
ANYWHERE ?= 1
VERBOSE ?= 0
$(BUILD)/check_random: $(BUILD)/tools/check_random.o $(BUILD)/tests/random_nets.o $(BUILD)/tests/random_sampling.o $(BUILD)/libntkc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The same draws as sources only (scripts/emit_diff.sh compares emitters on them).
$(BUILD)/random_sources: $(BUILD)/tools/random_sources.o $(BUILD)/tests/random_nets.o $(BUILD)/tests/random_sampling.o $(BUILD)/libntkc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

check-random: $(BUILD)/check_random
	$(TEST_MALLOC) OPENBLAS_NUM_THREADS=1 ./$(BUILD)/check_random $(NETS) $(SEED) $(ANYWHERE) $(VERBOSE) \
	    $(MC_MAX_SAMPLES) $(MC_CPU)

demo: $(BUILD)/ntkc
	./scripts/demo.sh $(BUILD)/ntkc

# The bench programs (scripts/bench*.sh build them through these rules, so they
# follow the layering and the link line of everything else).
$(BENCH_PROGS): $(BUILD)/bench/%: bench/%.c $(BUILD)/libntkc.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(addprefix -I,$(if $(INC.$*),$(INC.$*),$(INC.bench))) $(if $(filter bench_windows,$*),$(PRIM_FLAGS)) \
	    $< $(BUILD)/libntkc.a -o $@ $(LDFLAGS) $(LDLIBS)

bench: $(BUILD)/ntkc $(if $(HAVE_MPI),$(BUILD)/ntkc-mpi)
	./scripts/bench.sh $(BUILD)/ntkc

# The README's training-dynamics figure from the digits (docs/dynamics_digits.png;
# minutes: 2 x 5 widths x 3 seeds of nets trained for 100 steps).
figures: $(BUILD)/ntkc figure-long-range
	./scripts/figures.sh $(BUILD)/ntkc

# The README's long-range task (issue 20): ntkc's CNTK and attention kernels,
# kernel regression by ntkc.predict, docs/long_range_task.png (about 2 minutes).
figure-long-range: $(BUILD)/libntkc.so
	$(PY_ENV) $(PYTHON) scripts/long_range_task.py $(BUILD)/long_range --kernels --plot docs/long_range_task.png

# Front-end time on generated 1-10 MB sources (linear: issue 15, item 10).
bench-parse:
	./scripts/bench_parse.sh

# Regenerates generated/ from examples/ (the tests diff the two).
regen: $(BUILD)/ntkc
	./scripts/regen.sh $(BUILD)/ntkc

# Issue 15's checks: every Criterion suite named security* (escaping, cache,
# outputs, signals, limits, hostile inputs, parse size, stdout).
check-security: $(BUILD)/ntkc-tests $(BUILD)/ntkc
	$(MAKE) test TEST_ARGS="--filter 'security*/*'"

# Every Monte Carlo check, the sweeps make test samples included (suites
# monte_carlo and monte_carlo_long: every activation in a deep net).
check-monte-carlo: $(BUILD)/ntkc-tests $(BUILD)/ntkc
	$(MAKE) test MPI_TESTS=0 TEST_ARGS="--filter 'monte_carlo*/*'"

# Every suite named *_long: what make test leaves out to stay near 4 minutes
# (the Monte Carlo sweeps, the emitted C built and run under clang -O3, the
# call graph of every kernel-text function; README, "Robustness").
check-long: $(BUILD)/ntkc-tests $(BUILD)/ntkc
	$(MAKE) test MPI_TESTS=0 TEST_ARGS="--filter '*_long/*'"

# gcc 12 with -fsanitize=undefined reports "null format string" on every
# vsnprintf through a va_list (a known false positive), hence the one -Wno.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
              -Wno-format-truncation
# MPI_TESTS=0: the MPI tests are skipped under ASan (Open MPI's own
# allocations at init and finalize are reported as leaks).
check-asan:
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	    $(MAKE) BUILD=build-asan OPT=-O1 SAN="$(ASAN_FLAGS)" MPI_TESTS=0 test

# Memcheck over the whole test suite: the tests and every ntkc they start run
# under valgrind; the system compiler (started by tests and the cc back end)
# and shell utilities do not. Its own build (build-valgrind) stretches the
# tests' timeouts 100x (tests/util.h); tests/valgrind.supp names what is not
# ntkc's. Slow: the whole suite took 113 minutes on 2 cores; narrow it with
# TEST_ARGS="--filter 'suite/*'".
VALGRIND_SKIP := */cc,*/gcc*,*/cmp,*/rm,*/cp,*/mkdir,*/python3*
check-valgrind:
	@command -v valgrind >/dev/null || ./scripts/install-deps.sh fuzz
	$(MAKE) BUILD=build-valgrind SAN=-DNTKC_TIMEOUT_SCALE=100 valgrind-suite

valgrind-suite: $(BUILD)/ntkc-tests $(BUILD)/ntkc
	OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive NTKC_BIN=$(abspath $(BUILD)/ntkc) valgrind -q --error-exitcode=3 --leak-check=full \
	    --suppressions=$(abspath tests/valgrind.supp) --trace-children=yes \
	    --trace-children-skip='$(VALGRIND_SKIP)' ./$(BUILD)/ntkc-tests -j2 $(TEST_FILTER) $(TEST_ARGS)

# Fuzzing (fuzz/README.md): libFuzzer targets built with clang, or the same
# targets under AFL++. Only these targets need clang/afl++; `make test` does not.
FUZZ_TARGETS := frontend npy graph
FUZZ_SECONDS ?= 60
# clang does not know the '#pragma GCC optimize' of the generated primitives.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
            -Wno-unknown-pragmas
FUZZ_LINK ?= -fsanitize=fuzzer
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(BUILD)/libntkc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call room_inc,$<) $(FUZZ_LINK) -o $@ $^ $(LDLIBS)

fuzz-build:
	@[ -n "$$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null | grep /)" ] || \
	    ./scripts/install-deps.sh fuzz
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	    $(FUZZ_TARGETS:%=build-fuzz/fuzz/fuzz_%)
fuzz-build-afl:
	@command -v afl-clang-fast >/dev/null || ./scripts/install-deps.sh afl
	AFL_QUIET=1 $(MAKE) BUILD=build-afl CC=afl-clang-fast OPT=-O1 SAN="$(FUZZ_SAN)" \
	    $(FUZZ_TARGETS:%=build-afl/fuzz/fuzz_%)
fuzz: fuzz-build
	./fuzz/run.sh libfuzzer build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-afl: fuzz-build-afl
	./fuzz/run.sh afl build-afl $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-asan build-fuzz build-afl

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(MPI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(HOST_PRIMS).d \
         $(BUILD)/tools/gen_host_prims.d $(BUILD)/tools/check_random.d $(BUILD)/tools/random_sources.d
