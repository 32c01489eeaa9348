# Cross build for Debian's arm64 (issue 18): the crossbuild-essential-arm64 compiler and the multiarch -dev:arm64 packages
# (tools/cross.sh arm64 installs both). Unit tests and corpus replays run under qemu-user through ctest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LPW_TARGET_TRIPLET aarch64-linux-gnu)
set(LPW_DEB_ARCH arm64)

set(LPW_QEMU_NAME qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
