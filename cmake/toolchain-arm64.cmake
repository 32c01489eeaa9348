# Cross build for Debian's arm64 (issue 18): the crossbuild-essential-arm64 compiler and the multiarch -dev:arm64 packages
# (tools/cross.sh arm64 installs both). Unit tests and corpus replays run under qemu-user through ctest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LPW_TARGET_TRIPLET aarch64-linux-gnu)
set(LPW_DEB_ARCH arm64)

set(CMAKE_C_COMPILER ${LPW_TARGET_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${LPW_TARGET_TRIPLET})
# Programs (gzip, python3) are the build machine's; libraries and headers only the target's multiarch ones.
set(CMAKE_FIND_ROOT_PATH /usr/${LPW_TARGET_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must see the target's .pc files only, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${LPW_TARGET_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# The multiarch libc6:arm64 provides the dynamic loader at its usual path, so qemu needs no -L.
find_program(LPW_QEMU qemu-aarch64-static)
if(LPW_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LPW_QEMU})
endif()
