# keel: the two commands a new user needs, and a few more.
#
#   make demo    installs what is missing, builds, runs keel's main demonstration:
#                the examples/nfv packet pipeline, then its schedulability analysis
#   make test    installs what is missing, builds and runs the whole suite twice:
#                a release build (gcc) and an ASan+UBSan build (clang, with fuzzing)
#   make bench   the full benchmarks (tables, CSV and PNG under build/release/bench-out)
#   make bounds  regenerates docs/bounds.md (keel-wcet on the built libkeel)
#   make test-pku  the strict-mode and domain tests under QEMU on a CPU with
#                protection keys (installs QEMU and a kernel; not part of make test)
#   make install PREFIX=/usr/local
#   make format  clang-format every C file in place

JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX  ?= /usr/local
RELEASE := build/release
ASAN    := build/asan
OUT     := $(RELEASE)/bench-out

.PHONY: all demo test bench bounds release asan install format clean deps-test deps-bench test-pku deps-pku

all: release

deps-test:
	@scripts/deps.sh test

deps-bench:
	@scripts/deps.sh bench

deps-pku:
	@scripts/deps.sh pku

# both builds keep the keel-wcet corpus's valgrind counts in one place (taken once)
WCET_MEASURED := $(CURDIR)/build/wcet-measured

$(RELEASE)/CMakeCache.txt:
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
	    -DKEEL_WCET_MEASURE_CACHE=$(WCET_MEASURED)

$(ASAN)/CMakeCache.txt:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	    -DKEEL_SANITIZE=ON -DKEEL_FUZZ=ON -DKEEL_WCET_MEASURE_CACHE=$(WCET_MEASURED)

release: $(RELEASE)/CMakeCache.txt
	cmake --build $(RELEASE) -j $(JOBS)

asan: $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j $(JOBS)

test: deps-test
	$(MAKE) --no-print-directory release
	cd $(RELEASE) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory asan
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS)

test-pku: deps-pku
	$(MAKE) --no-print-directory release
	scripts/test-pku-qemu.sh $(RELEASE)

# The flagship demo (examples/nfv): builds only what it runs, runs the pipeline
# for DEMO_SECONDS, then bounds its job with keel-wcet and analyses the task set
# with keel-sched. Files under build/release/nfv-out.
DEMO_SECONDS ?= 20
demo: deps-bench
	@$(MAKE) --no-print-directory $(RELEASE)/CMakeCache.txt
	cmake --build $(RELEASE) -j $(JOBS) --target nfv keel-wcet keel-sched
	examples/nfv/demo.sh $(RELEASE) $(RELEASE)/nfv-out $(DEMO_SECONDS)

bench: deps-bench
	$(MAKE) --no-print-directory release
	@mkdir -p $(OUT)
	$(RELEASE)/bench/alloc/bench_alloc --csv $(OUT)/alloc.csv --png $(OUT)/alloc.png
	$(RELEASE)/bench/domain/bench_domain --csv $(OUT)/domain.csv --png $(OUT)/domain.png
	$(RELEASE)/bench/ckpt/bench_ckpt --csv $(OUT)/ckpt.csv --png $(OUT)/ckpt.png
	$(RELEASE)/bench/rt/bench_rt --csv $(OUT)/rt.csv --png $(OUT)/rt.png
	$(RELEASE)/bench/ifc/bench_ifc --csv $(OUT)/ifc.csv --png $(OUT)/ifc.png
	bench/ifc/instructions.sh $(RELEASE)/bench/ifc/bench_ifc $(OUT)/ifc-instructions.csv
	bench/wcet/bench_wcet.sh $(RELEASE)/tools/wcet/keel-wcet $(RELEASE)/tests/wcet/corpus tests/wcet/corpus $(OUT)

# docs/bounds.md: keel-wcet's bounds of libkeel's O(1) operations (scripts/gen-bounds.sh)
bounds: deps-test
	$(MAKE) --no-print-directory release
	scripts/gen-bounds.sh $(RELEASE)/tools/wcet/keel-wcet $(RELEASE)/tools/bounds/keel_bounds_image

install: release
	cmake --install $(RELEASE) --prefix $(PREFIX)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
