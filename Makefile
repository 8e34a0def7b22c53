# goptim: the entry points for people. `make help` lists them.
GO      ?= go
BUILD   ?= build
JOBS    ?= $(shell nproc)
FUZZTIME ?=

.PHONY: all help deps test test-go torture test-c test-arm64 leak demo bench cuda cuda-check test-cuda test-cuda-emu visit-dry-run bench-cuda demo-cuda fuzz clean

all: deps ## build the CPU library and every package
	$(GO) build ./...

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

deps: ## install OpenBLAS, CMake and a C compiler if missing (apt-get, as root)
	@scripts/deps.sh

test: deps test-go torture test-c leak fuzz ## everything CI runs on the CPU: vet, Go tests with -race, GC torture, C tests under sanitizers, leak checks, short fuzzing

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

torture: ## Go tests with the collector running constantly and its pointer checks on
	GOGC=1 GODEBUG=invalidptr=1,clobberfree=1,gccheckmark=1 $(GO) test -count=1 -short ./...

test-c: ## C tests of the kernels under AddressSanitizer and UBSan
	cmake -S . -B $(BUILD)/san -DCMAKE_BUILD_TYPE=Debug -DGOPTIM_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)/san -j $(JOBS)
	ctest --test-dir $(BUILD)/san --output-on-failure

test-arm64: ## on x86-64: cross-build for arm64 (NEON) and run the C and Go tests under qemu-user
	BUILD=$(BUILD) scripts/arm64.sh

leak: ## LeakSanitizer over create/step/close cycles, and RSS/C-heap growth over a million cycles
	$(GO) run -asan ./cmd/leakcheck -n 100000
	$(GO) run ./cmd/leakcheck -n 1000000

fuzz: ## run each fuzz target (FUZZTIME=10m or 100000x for more; default a fixed count each)
	@scripts/fuzz.sh $(FUZZTIME)

demo: deps ## the main job: compare every optimizer, train an MLP on the digits, write plots
	$(GO) run ./examples/demo

bench: deps ## CPU benchmarks: every optimizer vs a same-run copy, side by side with torch when python3-torch is installed
	$(GO) run ./cmd/bench -torch

cuda: ## build the CUDA library into build/cuda (needs nvcc: scripts/deps.sh cuda)
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DGOPTIM_CUDA=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

cuda-check: ## without a GPU: install the CUDA toolkit, build, vet and link the -tags cuda code; GPU tests skip
	@scripts/deps.sh cuda
	$(MAKE) cuda
	$(GO) vet -tags cuda ./...
	$(GO) test -tags cuda -count=1 ./...

test-cuda: cuda ## on a GPU machine: the CUDA C tests and every Go test on the GPU backend
	ctest --test-dir $(BUILD) --output-on-failure
	$(GO) test -tags cuda -count=1 ./...

test-cuda-emu: ## without a GPU: the CUDA backend emulated on the host (cuda/emu), its C tests, then vet and every Go test against it
	cmake -S cuda/emu -B $(BUILD)/cudaemu -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD)/cudaemu -j $(JOBS)
	ctest --test-dir $(BUILD)/cudaemu --output-on-failure
	$(GO) vet -tags cuda,cudaemu ./...
	$(GO) test -tags cuda,cudaemu -count=1 ./...

visit-dry-run: ## without a GPU: bench/device_visit.sh end to end on the emulated backend, with a fake nvidia-smi
	DRY_RUN=1 OUT=$(BUILD)/visit-dry-run bash bench/device_visit.sh

bench-cuda: cuda ## on a GPU machine: every optimizer and layout vs a same-run device copy
	$(BUILD)/cuda/goptim_bench_cuda

demo-cuda: cuda ## the demo on the GPU backend
	$(GO) run -tags cuda ./examples/demo

clean:
	rm -rf $(BUILD) demo-out
