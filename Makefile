# moat: the two commands of the README, and a few helpers.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps test-deps build run test fuzz fuzz-build bench clean asan

deps:
	scripts/install-deps.sh build

test-deps:
	scripts/install-deps.sh test

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/moat serve --demo

test: test-deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	$(MAKE) fuzz-build
	scripts/fuzz.sh build-fuzz $${FUZZ_SECONDS:-20}

asan: test-deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMOAT_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -j $(JOBS) --timeout 900

fuzz-build: test-deps
	CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOAT_FUZZ=ON -DMOAT_FUZZ_ONLY=ON
	cmake --build build-fuzz -j $(JOBS)

# Longer fuzzing on demand: make fuzz FUZZ_SECONDS=3600
fuzz: fuzz-build
	scripts/fuzz.sh build-fuzz $${FUZZ_SECONDS:-600}

bench: build
	scripts/install-deps.sh bench
	bench/load/bench.sh $(BUILD)/moat

clean:
	rm -rf $(BUILD) build-asan build-fuzz
