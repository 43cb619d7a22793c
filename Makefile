# Common targets. CMake does the real work; this file only names the builds:
#   build/        debug + ASan/UBSan + fuzzers: what the test suite runs
#   build-release optimised, no sanitizers: benchmarks and the local stack
JOBS ?= $(shell nproc)
CC := clang
export CC

.PHONY: all deps build release test unit fuzz bench run format clean

all: build

deps:
	./scripts/install-deps.sh

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug -DSTRATUS_SANITIZE=ON -DSTRATUS_FUZZ=ON >/dev/null
	cmake --build build -j $(JOBS)

release:
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSTRATUS_TESTS=OFF >/dev/null
	cmake --build build-release -j $(JOBS)

test: build
	./scripts/run-tests.sh build

unit: build
	cd build && ctest -L unit --output-on-failure -j $(JOBS)

fuzz: build
	cd build && ctest -L fuzz --output-on-failure

bench: release
	./bench/run.sh build-release

run: release
	./scripts/run-local.sh build-release

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-release
