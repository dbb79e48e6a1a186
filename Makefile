# viclip build. `make` builds the library, the CLI and the tests; `make test` runs the tests;
# `make demo` trains and evaluates a small ViCLIP on the embedded synthetic set; `make bench`
# compares against PyTorch. Dependencies are installed by scripts/setup.sh (run once, stamped).

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -fopenmp \
           $(OPT) -g -Iinclude -Isrc -MMD -MP
# oneDNN (-ldnnl, its OpenMP build) computes the float GEMMs with kernels chosen from cpuid; the
# double-precision gradient checks use OpenBLAS dgemm. The OpenMP build of OpenBLAS: BLAS calls
# made inside our OpenMP regions then run on one thread
# instead of spawning their own pthreads (Debian's default alternative is the pthread build).
BLAS_DIR ?= /usr/lib/$(shell $(CC) -print-multiarch)/openblas-openmp
LDLIBS  += -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -ldnnl -lopenblas -lavformat -lavcodec -lavutil -lswscale -lmicrohttpd -lz -lm -fopenmp
BUILD   := build

LIB_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/model/*.c src/io/*.c src/text/*.c \
                       src/video/*.c src/train/*.c src/eval/*.c \
                       src/search/*.c src/serve/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
# The gradient checks run the numeric core in double precision, so finite differences can use
# a tiny epsilon and tight tolerances; everything else links the float library.
F64_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/model/*.c src/io/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
GRAD_SRC := $(wildcard tests/grad_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
F64_OBJ  := $(F64_SRC:%.c=$(BUILD)/obj64/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(GRAD_SRC:tests/grad_%.c=$(BUILD)/tests/test_grad_%)

SETUP_STAMP := $(BUILD)/.setup-done

.PHONY: all test demo bench bench-moments clean setup
all: $(BUILD)/viclip $(TESTS)

$(SETUP_STAMP): scripts/setup.sh
	bash scripts/setup.sh
	@mkdir -p $(BUILD) && touch $@
setup: $(SETUP_STAMP)

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
$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libviclip.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)

test: all
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} tests/run.sh

demo: $(BUILD)/viclip
	$(BUILD)/viclip demo $(DEMO_ARGS)

bench: all $(BUILD)/bench_viclip $(BUILD)/bench_decode
	bash bench/run.sh

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
