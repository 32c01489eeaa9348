# Cross build for Debian's armhf (issue 18): the crossbuild-essential-armhf compiler and the multiarch -dev:armhf packages
# (tools/cross.sh armhf installs both). Unit tests and corpus replays run under qemu-user through ctest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(LPW_TARGET_TRIPLET arm-linux-gnueabihf)
set(LPW_DEB_ARCH armhf)

set(CMAKE_C_COMPILER ${LPW_TARGET_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${LPW_TARGET_TRIPLET})
# Programs (gzip, python3) are the build machine's; libraries and headers only the target's multiarch ones.
set(CMAKE_FIND_ROOT_PATH /usr/${LPW_TARGET_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must see the target's .pc files only, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${LPW_TARGET_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# The multiarch libc6:armhf provides the dynamic loader at its usual path, so qemu needs no -L.
find_program(LPW_QEMU qemu-arm-static)
if(LPW_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LPW_QEMU})
endif()
