# The two set-up commands of the README:
#   make run   installs what is missing, builds, and starts `kairos serve`
#   make test  installs what is missing, builds, and runs every test
# (plus the unit tests again under AddressSanitizer and UBSan).

JOBS ?= $(shell nproc)

.PHONY: deps deps-test build run test test-release test-asan bench clean

deps:
	bash scripts/install-deps

# The tests also need the pinned npm packages of the S3 test (s3rver).
deps-test:
	bash scripts/install-deps --tests

build: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

run: build
	./build/release/kairos serve --manifests manifests

test: deps-test test-release test-asan

test-release:
	cmake --preset release
	cmake --build --preset release -j $(JOBS)
	ctest --preset release -j $(JOBS)

test-asan:
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

bench: deps
	cmake --preset bench
	cmake --build --preset bench -j $(JOBS)
	bash bench/run-all

clean:
	rm -rf build
