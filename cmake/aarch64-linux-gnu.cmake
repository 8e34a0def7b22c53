# Cross build of the CPU backend for arm64 (Linux), run under qemu-user:
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build/arm64 -j && ctest --test-dir build/arm64
#
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user and libopenblas-dev:arm64
# (dpkg --add-architecture arm64); `make test-arm64` installs them and runs this.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_LIBRARY_PATH /usr/lib/aarch64-linux-gnu)
set(CMAKE_INCLUDE_PATH /usr/include/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
# ctest runs each test binary through the emulator.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
