# viclip build. `make` builds the library, the CLI and the tests; `make test` runs the tests;
# `make demo` trains and evaluates a small ViCLIP on the embedded synthetic set; `make bench`
# compares against PyTorch; `make asan` runs the whole suite under AddressSanitizer and
# UndefinedBehaviorSanitizer (in build-asan/); `make fuzz` runs every libFuzzer harness of
# tests/fuzz/ for FUZZ_SECONDS each (in build-fuzz/); `make test-cuda` / `make bench-cuda` check
# and benchmark the CUDA backend on a GPU. Dependencies are installed by scripts/setup.sh (run
# once, stamped); optional ones are probed by scripts/configure.sh (see FEATURES below).

CC      ?= cc
OPT     ?= -O3 -march=native
# -fno-math-errno: nothing reads errno after sqrt/exp/log, and a call that may set it keeps a
# loop scalar (AdamW's sqrt, for one); results are unchanged.
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -fopenmp \
           -fno-math-errno $(OPT) $(SAN) -g -Iinclude -Isrc -MMD -MP
# oneDNN (-ldnnl, its OpenMP build) computes the float GEMMs with kernels chosen from cpuid; the
# double-precision gradient checks use OpenBLAS dgemm. The OpenMP build of OpenBLAS: BLAS calls
# made inside our OpenMP regions then run on one thread instead of spawning their own pthreads
# (Debian's default alternative is the pthread build).
BLAS_DIR ?= /usr/lib/$(shell $(CC) -print-multiarch)/openblas-openmp
# BUILD is a variable so that the sanitizer and fuzzing builds live in folders of their own.
BUILD   ?= build

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
MPI_LIBS := $(shell $(MPICC) --showme:link 2>/dev/null || $(MPICC) -link-info | cut -d' ' -f2-)
endif

# The other optional dependencies, probed by scripts/configure.sh into build/config.mk; each
# can be turned off on the command line (`make VIDEO=0`). Without FFmpeg everything but
# decoding is built and clips come as .npy arrays; without oneDNN/OpenBLAS a plain OpenMP GEMM
# computes the matrix products; without libmicrohttpd `viclip serve` reports it was not built;
# without zlib only uncompressed vocabularies and stored .pth entries are read.
FEATURE_LIBS :=
ifeq ($(DNNL),1)
CFLAGS  += -DVC_HAVE_DNNL
FEATURE_LIBS += -ldnnl
endif
ifeq ($(OPENBLAS),1)
CFLAGS  += -DVC_HAVE_OPENBLAS
FEATURE_LIBS += -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
endif
ifeq ($(VIDEO),1)
CFLAGS  += -DVC_HAVE_VIDEO
FEATURE_LIBS += -lavformat -lavcodec -lavutil -lswscale
endif
ifeq ($(MHD),1)
CFLAGS  += -DVC_HAVE_MHD
FEATURE_LIBS += -lmicrohttpd
endif
ifeq ($(ZLIB),1)
CFLAGS  += -DVC_HAVE_ZLIB
FEATURE_LIBS += -lz
endif
# The CUDA backend (src/cuda/*.cu, nvcc + cuBLASLt) is built when nvcc is found; `make CUDA=0`
# leaves it out (src/cuda/none.c then says so at --device cuda).
NVCC      ?= nvcc
CUDA_HOME ?= /usr/local/cuda
CUDA_ARCH ?= -gencode arch=compute_90,code=[sm_90,compute_90]
ifeq ($(CUDA),1)
CFLAGS  += -DVC_HAVE_CUDA -I$(CUDA_HOME)/include
FEATURE_LIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublasLt -lcublas -lcudart -lstdc++
endif
LDLIBS  += $(FEATURE_LIBS) $(MPI_LIBS) -lm -fopenmp
# Objects are rebuilt when the set of features changes (their #ifdefs depend on it).
FEATURES := dnnl=$(DNNL) openblas=$(OPENBLAS) video=$(VIDEO) mhd=$(MHD) zlib=$(ZLIB) mpi=$(MPI) cuda=$(CUDA)
FEATURES_STAMP := $(BUILD)/.features
$(shell mkdir -p $(BUILD) && [ "$$(cat $(FEATURES_STAMP) 2>/dev/null)" = "$(FEATURES)" ] || echo "$(FEATURES)" > $(FEATURES_STAMP))

LIB_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/model/*.c src/io/*.c src/text/*.c \
                       src/video/*.c src/train/*.c src/eval/*.c \
                       src/search/*.c src/serve/*.c src/dist/*.c src/api/*.c src/backend/*.c)
# Each optional piece has a stand-in that fails with a message naming what is missing.
LIB_SRC  := $(filter-out $(if $(filter 1,$(VIDEO)),src/video/no_ffmpeg.c,src/video/decode.c src/video/thumbnail.c),$(LIB_SRC))
LIB_SRC  := $(filter-out $(if $(filter 1,$(MHD)),src/serve/no_server.c,src/serve/server.c),$(LIB_SRC))
CUDA_STANDINS := src/cuda/none.c src/cuda/runtime_none.c
LIB_SRC  += $(if $(filter 1,$(CUDA)),$(filter-out $(CUDA_STANDINS),$(wildcard src/cuda/*.c)),$(CUDA_STANDINS))
CUDA_SRC := $(if $(filter 1,$(CUDA)),$(wildcard src/cuda/*.cu))
CLI_SRC  := $(wildcard src/cli/*.c)
# The gradient checks and the data-parallel equality test run the library in double precision,
# so finite differences can use a tiny epsilon and tight tolerances; everything else links float.
# (search, serve and moment evaluation work on float32 indexes only; the public API exchanges float32)
F64_SRC  := $(filter-out src/search/% src/serve/% src/api/% src/eval/moment_eval.c src/cuda/%,$(LIB_SRC)) $(CUDA_STANDINS)
TEST_SRC := $(wildcard tests/test_*.c)
GRAD_SRC := $(wildcard tests/grad_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(CUDA_SRC:%.cu=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
F64_OBJ  := $(F64_SRC:%.c=$(BUILD)/obj64/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(GRAD_SRC:tests/grad_%.c=$(BUILD)/tests/test_grad_%) \
            $(BUILD)/tests/dist_train64

# One stamp for every build folder: setup installs packages and fetches the vocabulary into
# build/assets, which the sanitizer and fuzzing builds share (and must not run twice at once).
SETUP_STAMP := build/.setup-done

# The public library: include/viclip.h. Library objects are position independent with hidden
# symbols, so libviclip.so exports only the VICLIP_API functions; the CLI, examples/ and bench/
# link it; the tests link the static libviclip.a, which also holds the internals they check.
VERSION  := 0.1.0
SONAME   := libviclip.so.0
SHARED   := $(BUILD)/libviclip.so.$(VERSION)
PREFIX   ?= /usr/local
LIB_CFLAGS := -fPIC -fvisibility=hidden -DVICLIP_BUILD
# Programs that may use only the public header (examples/, bench/): no -Isrc.
PUB_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -fopenmp $(OPT) -g -Iinclude
PRIVATE_LIBS = $(FEATURE_LIBS) $(MPI_LIBS) -lm -fopenmp

.PHONY: all test demo bench bench-moments clean setup install asan asan-ci fuzz test-cuda bench-cuda
all: $(BUILD)/viclip $(SHARED) $(BUILD)/viclip.pc $(BUILD)/examples/similarity $(TESTS)

$(SETUP_STAMP): scripts/setup.sh
	bash scripts/setup.sh
	@mkdir -p $(dir $@) && touch $@
setup: $(SETUP_STAMP)
$(BUILD)/config.mk: $(SETUP_STAMP) scripts/configure.sh
	@mkdir -p $(dir $@)
	bash scripts/configure.sh "$(CC)" "$(MPICC)" "$(BLAS_DIR)" > $@
	@sed 's/ ?= / = /' $@ | tr '\n' ' ' | sed 's/^/configure: /'; echo
$(LIB_OBJ) $(CLI_OBJ) $(F64_OBJ): $(FEATURES_STAMP)

# Library objects built before they were position independent are rebuilt once.
LIB_FLAGS_STAMP := $(BUILD)/.lib-objects-pic
$(LIB_FLAGS_STAMP):
	@mkdir -p $(BUILD) && touch $@
$(LIB_OBJ): $(LIB_FLAGS_STAMP)

$(BUILD)/obj/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(if $(filter src/cli/%,$<),,$(LIB_CFLAGS)) -c $< -o $@
# CUDA objects: host code in C++ (nvcc), kernels for CUDA_ARCH; they land in the same library.
NVCCFLAGS ?= -O3 -std=c++17 $(CUDA_ARCH) -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Wno-unused-parameter \
             -Werror=all-warnings -Iinclude -Isrc -DVICLIP_BUILD -MMD -MP
$(BUILD)/obj/%.o: %.cu | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@
$(BUILD)/obj64/%.o: %.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE -c $< -o $@

$(BUILD)/libviclip.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(SHARED): $(LIB_OBJ) src/api/viclip.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script,src/api/viclip.map $(CFLAGS) $(LIB_OBJ) -o $@ $(LDLIBS)
	ln -sf libviclip.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libviclip.so.$(VERSION) $(BUILD)/libviclip.so

# pkg-config file for PREFIX (make install PREFIX=... writes the installed one).
define VICLIP_PC
prefix=$(PREFIX)
libdir=$${prefix}/lib
includedir=$${prefix}/include

Name: viclip
Description: ViCLIP video-text embeddings in C (InternVideo/InternVid)
Version: $(VERSION)
Cflags: -I$${includedir}
Libs: -L$${libdir} -lviclip
Libs.private: $(PRIVATE_LIBS)
endef
export VICLIP_PC
$(BUILD)/viclip.pc: Makefile
	@mkdir -p $(BUILD)
	printf '%s\n' "$$VICLIP_PC" > $@

$(BUILD)/examples/%: examples/%.c include/viclip.h $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(PUB_CFLAGS) $< -L$(BUILD) -lviclip -Wl,-rpath,'$$ORIGIN/..' -o $@

install: $(BUILD)/viclip $(SHARED) $(BUILD)/libviclip.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	           $(DESTDIR)$(PREFIX)/share/viclip
	install -m 755 $(BUILD)/viclip $(DESTDIR)$(PREFIX)/bin/
	install -m 644 include/viclip.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libviclip.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libviclip.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf libviclip.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libviclip.so
	printf '%s\n' "$$VICLIP_PC" > $(DESTDIR)$(PREFIX)/lib/pkgconfig/viclip.pc
	if [ -f $(BUILD)/assets/bpe_simple_vocab_16e6.txt.gz ]; then \
	    install -m 644 $(BUILD)/assets/bpe_simple_vocab_16e6.txt.gz $(DESTDIR)$(PREFIX)/share/viclip/; fi

$(BUILD)/libviclip64.a: $(F64_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The CLI is a client of the public library: linked against libviclip.so, which exports only
# the viclip_* API, so a call into the internals does not link (and tests/test_public_api.c
# checks the includes). rpath: the library next to it (build/) or in PREFIX/lib once installed.
$(BUILD)/viclip: $(CLI_OBJ) $(SHARED)
	$(CC) $(CFLAGS) $(CLI_OBJ) -L$(BUILD) -lviclip -Wl,-rpath,'$$ORIGIN:$$ORIGIN/../lib' -o $@ -lm

# Tests run the CLI of their own build (VC_BUILD_DIR/viclip).
TEST_CFLAGS = -Itests -DVC_BUILD_DIR='"$(BUILD)"'
$(BUILD)/tests/test_grad_%: tests/grad_%.c $(BUILD)/libviclip64.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE $(TEST_CFLAGS) $< $(BUILD)/libviclip64.a -o $@ $(LDLIBS)
# The data-parallel tests compare double-precision runs (dist_train64 under mpirun) to 1e-10,
# and drive build/viclip for the float runs.
$(BUILD)/tests/test_dist: tests/test_dist.c $(BUILD)/libviclip64.a $(BUILD)/viclip $(BUILD)/tests/dist_train64
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE $(TEST_CFLAGS) $< $(BUILD)/libviclip64.a -o $@ $(LDLIBS)
$(BUILD)/tests/dist_train64: tests/dist_train.c $(BUILD)/libviclip64.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DVC_DOUBLE $(TEST_CFLAGS) $< $(BUILD)/libviclip64.a -o $@ $(LDLIBS)
$(BUILD)/tests/test_%: tests/test_%.c $(BUILD)/libviclip.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)
# The NCCL tests load a stand-in libnccl (tests/nccl_fake.c): one with every symbol, one without
# ncclAllGather; tests/nccl_ranks.c makes communicators over it under mpirun.
$(BUILD)/tests/test_nccl: $(BUILD)/tests/libnccl_fake.so $(BUILD)/tests/libnccl_fake_partial.so $(BUILD)/tests/nccl_ranks
$(BUILD)/tests/nccl_ranks: tests/nccl_ranks.c $(BUILD)/libviclip.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $< $(BUILD)/libviclip.a -o $@ $(LDLIBS)
$(BUILD)/tests/libnccl_fake.so: tests/nccl_fake.c tests/nccl_fake.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -shared -fPIC -g $< -o $@
$(BUILD)/tests/libnccl_fake_partial.so: tests/nccl_fake.c tests/nccl_fake.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -shared -fPIC -g -DFAKE_NCCL_PARTIAL $< -o $@

# ---- sanitizers -------------------------------------------------------------------------------
# Any sanitizer report fails the process (no recovery), so a test that triggers one fails.
SAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_ENV   := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2}
ASAN_MAKE := $(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -march=native' SAN='$(SAN_FLAGS)'
# The short pass `make test` adds: the readers and loaders (files and videos from outside), and
# the hand-written SIMD kernels (their packing and tails index by hand).
ASAN_CI_TESTS := npy json annotations safetensors import loader kernels
ASAN_CI_BINS  := $(ASAN_CI_TESTS:%=build-asan/tests/test_%)

asan: $(SETUP_STAMP)
	$(ASAN_MAKE) all
	@mkdir -p build/tests
	$(SAN_ENV) VICLIP_TEST_BUILDS=build-asan tests/run.sh

asan-ci: $(SETUP_STAMP)
	$(ASAN_MAKE) $(ASAN_CI_BINS)

test: all asan-ci
	@mkdir -p build/tests
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(SAN_ENV) VICLIP_TEST_BINS="$(ASAN_CI_BINS)" tests/run.sh

# ---- fuzzing ----------------------------------------------------------------------------------
# The library built with clang's fuzzer instrumentation plus ASan/UBSan, one binary per harness,
# each run for FUZZ_SECONDS on a copy of its seed corpus (tests/fuzz/corpus/NAME, if any).
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_MAKE    := $(MAKE) --no-print-directory CC=clang BUILD=build-fuzz OPT='-O1 -march=native' \
                SAN='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -Wno-pass-failed'

fuzz: $(SETUP_STAMP)
	bash scripts/setup.sh fuzz
	$(FUZZ_MAKE) build-fuzz/libviclip.a
	@for n in $(FUZZ_NAMES); do \
	    clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	        -fopenmp -Iinclude -Isrc tests/fuzz/fuzz_$$n.c build-fuzz/libviclip.a -o build-fuzz/fuzz_$$n \
	        $(filter-out -fopenmp,$(LDLIBS)) -fopenmp || exit 1; \
	done
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_NAMES)

# GPU parity (tests/test_cuda.c with its B/16-size case, tests/test_cuda_train.c: training
# kernels, gradients, resume) and the GPU benchmark against PyTorch
# (bench/cuda.sh): both need a build with CUDA and a GPU, and say SKIP without one.
test-cuda: $(BUILD)/tests/test_cuda $(BUILD)/tests/test_cuda_train $(BUILD)/viclip
	VICLIP_TEST_CUDA_LARGE=1 $(BUILD)/tests/test_cuda
	VICLIP_TEST_CUDA_LARGE=1 $(BUILD)/tests/test_cuda_train

bench-cuda: $(BUILD)/bench_cuda $(BUILD)/viclip
	BUILD=$(BUILD) bash bench/cuda.sh

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
	rm -rf $(BUILD) build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(F64_OBJ:.o=.d) $(TESTS:=.d) \
         $(BUILD)/bench_viclip.d $(BUILD)/bench_decode.d

# The benchmarks are clients of the public library: compiled with -Iinclude only and linked
# against libviclip.so (which exports nothing else).
PUB_LINK := -L$(BUILD) -lviclip -Wl,-rpath,'$$ORIGIN'
$(BUILD)/bench_viclip: bench/bench_viclip.c include/viclip.h $(SHARED)
	$(CC) $(PUB_CFLAGS) $< $(PUB_LINK) -o $@
$(BUILD)/bench_decode: bench/bench_decode.c include/viclip.h $(SHARED)
	$(CC) $(PUB_CFLAGS) $< $(PUB_LINK) -o $@
$(BUILD)/plant_clip: bench/plant_clip.c include/viclip.h $(SHARED)
	$(CC) $(PUB_CFLAGS) $< $(PUB_LINK) -o $@
$(BUILD)/bench_search: bench/bench_search.c include/viclip.h $(SHARED)
	$(CC) $(PUB_CFLAGS) $< $(PUB_LINK) -o $@ -lm
$(BUILD)/bench_cuda: bench/bench_cuda.c include/viclip.h $(SHARED)
	$(CC) $(PUB_CFLAGS) $< $(PUB_LINK) -o $@ -lm
