# Makefile - builds the kernless host binary, the freestanding guest runtime, and runs the tests.
#
#   make          build build/kernless and build/guest/
#   make run      build, then start the server with the example functions
#   make cluster  build, then a local three-node cluster: PostgreSQL registry, HAProxy in front
#   make test     build, then run every test suite; ends with "N passed, N failed, N skipped"
#   make bench    build, then run the benchmarks into bench/RESULTS.md (B=name for one)
#   make soak     build, then 10 minutes of mixed load on the server into bench/SOAK.md
#
# Missing Debian packages are installed first (scripts/deps.sh).

BUILD    ?= build
CC       ?= gcc
HOSTCC   ?= $(CC)
PKGS     := libmicrohttpd jansson sqlite3 libcurl libseccomp nettle libcrypto tomlplusplus libpq

WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation
# Library flags are looked up when a recipe first needs them, then kept: never
# while the Makefile is read, because on a fresh machine scripts/deps.sh (the
# $(DEPS_STAMP) prerequisite every compile waits for) has not yet installed
# pkg-config and the -dev packages then. A failed lookup stops the build.
kl_pkg = $(if $(filter KL_PKG_FAILED,$1),$(error pkg-config $2 $(PKGS) failed (make deps installs them)),$1)
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call kl_pkg,$$(shell pkg-config --cflags $$(PKGS) || echo KL_PKG_FAILED),--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(call kl_pkg,$$(shell pkg-config --libs $$(PKGS) || echo KL_PKG_FAILED),--libs))$(PKG_LIBS)
HOST_CFLAGS = -std=gnu11 -O2 -g $(WARN) -Iinclude -Isrc -D_GNU_SOURCE $(PKG_CFLAGS)
HOST_LIBS   = $(PKG_LIBS) -lstdc++ -lpthread -lm
# The one C++ file (src/client/toml_json.cpp: toml++ reads kernless.toml and
# hands C a JSON value), with the same warnings as errors.
CXX        ?= g++
HOST_CXXFLAGS = -std=c++17 -O2 -g $(WARN) -Iinclude -Isrc -D_GNU_SOURCE $(PKG_CFLAGS)
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Every host source under src/ (any depth), except the guest runtime and the
# sandbox tender, which are freestanding and built below with their own flags.
HOST_FIND  = $(shell find src -name '$1' -not -path 'src/guest/*' -not -path 'src/sandbox/*' | LC_ALL=C sort)
HOST_SRCS := $(call HOST_FIND,*.c)
HOST_ASMS := $(call HOST_FIND,*.S)
HOST_CXXS := $(call HOST_FIND,*.cpp)
# `kernless new`'s project templates (templates/<name>/...), embedded as C arrays.
TEMPLATE_FILES := $(shell find templates -type f 2>/dev/null | LC_ALL=C sort)
TEMPLATE_DIRS  := $(shell find templates -type d 2>/dev/null)
TEMPLATES_C := $(BUILD)/gen/templates.c
HOST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HOST_SRCS)) $(patsubst %.S,$(BUILD)/obj/%.o,$(HOST_ASMS)) \
             $(patsubst %.cpp,$(BUILD)/obj/%.o,$(HOST_CXXS)) $(BUILD)/obj/gen/templates.o \
             $(BUILD)/obj/gen/dashboard_assets.o
SAN_OBJS  := $(patsubst %.c,$(BUILD)/san/%.o,$(HOST_SRCS)) $(patsubst %.S,$(BUILD)/san/%.o,$(HOST_ASMS)) \
             $(patsubst %.cpp,$(BUILD)/san/%.o,$(HOST_CXXS)) $(BUILD)/san/gen/templates.o \
             $(BUILD)/san/gen/dashboard_assets.o

# The guest runtime: freestanding, no libc, linked into every image.
GUEST_CC     ?= gcc
# gcc's own include folder, looked up when a recipe first needs it (gcc may not be installed before deps.sh).
GUEST_INC = $(eval GUEST_INC := $$(shell $$(GUEST_CC) -print-file-name=include))$(GUEST_INC)
GUEST_CFLAGS = -std=gnu11 -O2 -g0 $(WARN) -ffreestanding -fno-pic -fno-pie \
                -fno-stack-protector -fno-asynchronous-unwind-tables -mno-avx \
                -mcmodel=small -nostdinc -isystem $(GUEST_INC) \
                -Isrc/guest/include -I$(BUILD)/guest/include -Iinclude -Isrc \
                -fno-math-errno -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1
GUEST_SRCS := $(wildcard src/guest/*.c)
GUEST_ASMS := $(wildcard src/guest/*.S)
GUEST_OBJS := $(patsubst src/guest/%.c,$(BUILD)/guest/obj/%.o,$(GUEST_SRCS)) \
              $(patsubst src/guest/%.S,$(BUILD)/guest/obj/%.o,$(GUEST_ASMS))
GUEST_HDRS := $(wildcard src/guest/include/*.h)
# The baseline tier's extras (compile/tier.c): headers for tcc and the helpers
# its code calls, in an archive of their own so the optimised tier's images
# (keyed by libkguest.a) are not rebuilt when these change.
TCC_HDRS := $(wildcard src/guest/tcc/*.h)
TCC_OBJS := $(patsubst src/guest/tcc/%.c,$(BUILD)/guest/obj/tcc/%.o,$(wildcard src/guest/tcc/*.c))

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps run test unit-test clang-check clean bench fuzz engines
all: $(BUILD)/kernless $(BUILD)/san/kernless guest engines

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/deps.sh
	@touch $@

# Everything depends on the packages being present (order-only).
$(HOST_OBJS) $(SAN_OBJS) $(GUEST_OBJS): | $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@
$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/san/%.o: %.S
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(HOST_CXXFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/san/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(HOST_CXXFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

# The templates file is regenerated when a template or the list of them changes.
# The C template ships the SDK header of include/ (no copy to keep in step).
$(TEMPLATES_C): scripts/embed-templates.sh $(TEMPLATE_FILES) $(TEMPLATE_DIRS) include/kernless/sdk.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	bash scripts/embed-templates.sh templates c/kernless_sdk.h=include/kernless/sdk.h > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/templates.o: $(TEMPLATES_C)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@
$(BUILD)/san/gen/templates.o: $(TEMPLATES_C)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@

# The dashboard's files (src/server/dashboard/) become C arrays kl_dash_NAME
# (dots as '_'), served by src/server/dashboard.c: the binary carries them.
DASH_ASSETS := $(sort $(wildcard src/server/dashboard/*))
$(BUILD)/gen/dashboard_assets.c: $(DASH_ASSETS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@for f in $(DASH_ASSETS); do xxd -i -n kl_dash_$$(basename $$f | tr . _) $$f || exit 1; done >$@.tmp
	@mv $@.tmp $@
$(BUILD)/obj/gen/dashboard_assets.o $(BUILD)/san/gen/dashboard_assets.o: $(BUILD)/gen/dashboard_assets.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/kernless: $(HOST_OBJS) | guest
	$(HOSTCC) -o $@ $(HOST_OBJS) $(HOST_LIBS)
$(BUILD)/san/kernless: $(SAN_OBJS) | guest
	$(HOSTCC) $(SAN_FLAGS) -o $@ $(SAN_OBJS) $(HOST_LIBS)
	@rm -rf $(BUILD)/san/guest && ln -s ../guest $(BUILD)/san/guest
	@rm -rf $(BUILD)/san/engines && ln -s ../engines $(BUILD)/san/engines

# Guest runtime archive, linker script and headers, found by the compiler
# next to the kernless binary (<bindir>/guest/).
.PHONY: guest
guest: $(BUILD)/guest/libkguest.a $(BUILD)/guest/libkltcc.a $(BUILD)/guest/guest.ld $(BUILD)/guest/.headers $(BUILD)/guest/kl-sandbox

# The process sandbox's tender (src/sandbox/): a static, libc-free binary
# linked into the tender area, found next to the kernless binary like the
# runtime (<bindir>/guest/kl-sandbox).
TENDER_SRCS := $(wildcard src/sandbox/*.c src/sandbox/*.S)
TENDER_CFLAGS = -std=gnu11 -O2 -g0 $(WARN) -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                 -fno-asynchronous-unwind-tables -mno-avx -mgeneral-regs-only -nostdinc \
                 -isystem $(GUEST_INC) -Iinclude -Isrc
$(BUILD)/guest/kl-sandbox: $(TENDER_SRCS) src/sandbox/tender.ld src/vm/proc/proc_chan.h include/kernless/abi.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(TENDER_CFLAGS) -static -nostdlib -no-pie -Wl,-T,src/sandbox/tender.ld \
		-Wl,--build-id=none -o $@ $(TENDER_SRCS)

$(BUILD)/guest/obj/%.o: src/guest/%.c $(GUEST_HDRS) src/guest/guest.h src/guest/wasi.h src/guest/wasi_fd.h include/kernless/abi.h $(BUILD)/guest/.headers
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/obj/%.o: src/guest/%.S include/kernless/abi.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/libkguest.a: $(GUEST_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/guest/libkltcc.a: $(TCC_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/guest/obj/tcc/%.o: src/guest/tcc/%.c $(TCC_HDRS)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/guest.ld: src/guest/guest.ld
	@mkdir -p $(dir $@)
	cp $< $@
# wasm-rt.h comes from Debian's wabt; generated code and the runtime share it.
$(BUILD)/guest/.headers: $(GUEST_HDRS) $(TCC_HDRS) include/kernless/abi.h | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/guest/include/kernless $(BUILD)/guest/tcc
	cp $(TCC_HDRS) $(BUILD)/guest/tcc/
	cp $(GUEST_HDRS) /usr/include/wasm-rt.h $(BUILD)/guest/include/
	cp include/kernless/abi.h $(BUILD)/guest/include/kernless/
	@touch $@

# Language engines (lang/): wasm32-wasi modules built with clang and
# wasi-libc, cached under ~/.cache/kernless/engines by source and script hash
# (the scripts copy a cached build in a second), found by the CLI and the
# server in engines/ beside the kernless binary.
ENGINES := $(BUILD)/engines/js.wasm $(BUILD)/engines/python.wasm
engines: $(ENGINES)
$(BUILD)/engines/js.wasm: $(wildcard lang/js/*) | $(DEPS_STAMP)
	@bash lang/js/build.sh $(BUILD)/engines
# The first build takes ~15 minutes on 2 cores (configure, make, stdlib);
# later ones copy the cached engine.
$(BUILD)/engines/python.wasm: $(wildcard lang/python/*) lang/fetch-src.sh | $(DEPS_STAMP)
	@bash lang/python/build.sh $(BUILD)/engines

# Type-check all host code with clang too: warnings are errors in both.
clang-check: | $(DEPS_STAMP)
	@for f in $(HOST_SRCS); do clang $(HOST_CFLAGS) -Wno-unknown-warning-option -fsyntax-only $$f || exit 1; done
	@echo "clang-check: ok"

run: all
	@bash scripts/run.sh $(BUILD)

.PHONY: cluster
cluster: all
	@bash scripts/cluster.sh $(BUILD)

test: all clang-check
	@bash tests/run_all.sh $(BUILD)

# libFuzzer targets (tests/fuzz/): each runs FUZZ_SECONDS on a copy of its corpus in $(BUILD)/fuzz/.
FUZZ_SECONDS ?= 60
fuzz: | $(DEPS_STAMP)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(BUILD) long

# Not part of test: installs wrk, nginx, fcgiwrap, gnuplot; takes minutes (bench/run.sh).
bench: all
	@bash bench/run.sh $(BUILD) $(B)

# Not part of test or bench: SOAK_SECONDS of mixed load on kernless serve, RSS and fds sampled (bench/soak.sh).
.PHONY: soak
SOAK_SECONDS ?= 600
soak: all
	@SOAK_SECONDS=$(SOAK_SECONDS) bash bench/soak.sh $(BUILD)

clean:
	rm -rf $(BUILD)

-include $(HOST_OBJS:.o=.d) $(SAN_OBJS:.o=.d)
