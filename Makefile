# viclip build. `make` builds the library, the CLI and the tests; `make test` runs the tests;
# `make demo` trains and evaluates a small ViCLIP on the embedded synthetic set; `make bench`
# compares against PyTorch. Dependencies are installed by scripts/setup.sh (run once, stamped).

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -fopenmp \
           $(OPT) -g -Iinclude -Isrc -MMD -MP
# The OpenMP build of OpenBLAS: BLAS calls made inside our OpenMP regions then run on one thread
# instead of spawning their own pthreads (Debian's default alternative is the pthread build).
BLAS_DIR ?= /usr/lib/$(shell $(CC) -print-multiarch)/openblas-openmp
LDLIBS  += -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -lavformat -lavcodec -lavutil -lswscale -lmicrohttpd -lz -lm -fopenmp
BUILD   := build
# Data-parallel training over MPI is part of the normal build when mpicc is found (OpenMPI or
# MPICH); without it the collectives are single-process only; `make MPI=0` builds without.
# The probe runs after scripts/setup.sh (which installs OpenMPI): make rebuilds the included
# build/config.mk first and then reads it.
MPICC   ?= mpicc
ifeq ($(filter clean,$(MAKECMDGOALS)),)
-include $(BUILD)/config.mk
endif
ifeq ($(MPI),1)
CFLAGS  += -DVC_HAVE_MPI $(shell $(MPICC) --showme:compile 2>/dev/null || $(MPICC) -compile-info | cut -d' ' -f2-)
LDLIBS  += $(shell $(MPICC) --showme:link 2>/dev/null || $(MPICC) -link-info | cut -d' ' -f2-)
endif

LIB_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/model/*.c src/io/*.c src/text/*.c \
                       src/video/*.c src/train/*.c src/eval/*.c \
                       src/search/*.c src/serve/*.c src/dist/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
# The gradient checks and the data-parallel equality test run the library in double precision,
# so finite differences can use a tiny epsilon and tight tolerances; everything else links float.
# (search, serve and moment evaluation work on float32 indexes only)
F64_SRC  := $(filter-out src/search/% src/serve/% src/eval/moment_eval.c,$(LIB_SRC))
TEST_SRC := $(wildcard tests/test_*.c)
GRAD_SRC := $(wildcard tests/grad_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
F64_OBJ  := $(F64_SRC:%.c=$(BUILD)/obj64/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(GRAD_SRC:tests/grad_%.c=$(BUILD)/tests/test_grad_%) \
            $(BUILD)/tests/dist_train64

SETUP_STAMP := $(BUILD)/.setup-done

.PHONY: all test demo bench bench-moments clean setup
all: $(BUILD)/viclip $(TESTS)

$(SETUP_STAMP): scripts/setup.sh
	bash scripts/setup.sh
	@mkdir -p $(BUILD) && touch $@
setup: $(SETUP_STAMP)
$(BUILD)/config.mk: $(SETUP_STAMP)
	@echo "MPI ?= $$(command -v $(MPICC) >/dev/null 2>&1 && echo 1 || echo 0)" > $@
$(BUILD)/obj/src/dist/collectives_mpi.o $(BUILD)/obj64/src/dist/collectives_mpi.o: $(BUILD)/config.mk

$(BUILD)/obj/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/obj64/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE -c $< -o $@

$(BUILD)/libviclip.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/libviclip64.a: $(F64_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/viclip: $(CLI_OBJ) $(BUILD)/libviclip.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/test_grad_%: tests/grad_%.c $(BUILD)/libviclip64.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE -Itests $< $(BUILD)/libviclip64.a -o $@ $(LDLIBS)
# The data-parallel tests compare double-precision runs (dist_train64 under mpirun) to 1e-10,
# and drive build/viclip for the float runs.
$(BUILD)/tests/test_dist: tests/test_dist.c $(BUILD)/libviclip64.a $(BUILD)/viclip $(BUILD)/tests/dist_train64
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE -Itests $< $(BUILD)/libviclip64.a -o $@ $(LDLIBS)
$(BUILD)/tests/dist_train64: tests/dist_train.c $(BUILD)/libviclip64.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE -Itests $< $(BUILD)/libviclip64.a -o $@ $(LDLIBS)
$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libviclip.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)

test: all
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} tests/run.sh

demo: $(BUILD)/viclip
	$(BUILD)/viclip demo $(DEMO_ARGS)

bench: all $(BUILD)/bench_viclip $(BUILD)/bench_decode
	bash bench/run.sh
	bash bench/dist.sh

# The moment-search benchmark: a 2-hour video indexed in one pass, planted moments found,
# exact search over 10^6 windows, and a wrk load run on viclip serve (needs `make demo` first).
bench-moments: $(BUILD)/viclip $(BUILD)/bench_search $(BUILD)/plant_clip
	bash bench/moments.sh

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(F64_OBJ:.o=.d)

$(BUILD)/bench_viclip: bench/bench_viclip.c $(BUILD)/libviclip.a
	$(CC) $(CFLAGS) $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)
$(BUILD)/bench_search: bench/bench_search.c $(BUILD)/libviclip.a
	$(CC) $(CFLAGS) $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)
$(BUILD)/plant_clip: bench/plant_clip.c $(BUILD)/libviclip.a
	$(CC) $(CFLAGS) $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)
$(BUILD)/bench_decode: bench/bench_decode.c $(BUILD)/libviclip.a
	$(CC) $(CFLAGS) $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)
