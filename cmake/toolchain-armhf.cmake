# Cross build for Debian's armhf (issue 18): the crossbuild-essential-armhf compiler and the multiarch -dev:armhf packages
# (tools/cross.sh armhf installs both). Unit tests and corpus replays run under qemu-user through ctest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(LPW_TARGET_TRIPLET arm-linux-gnueabihf)
set(LPW_DEB_ARCH armhf)

set(LPW_QEMU_NAME qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
