# What both cross toolchain files share, once LPW_TARGET_TRIPLET and LPW_QEMU_NAME are set.
set(CMAKE_C_COMPILER ${LPW_TARGET_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${LPW_TARGET_TRIPLET})
# Programs (gzip, python3) are the build machine's; libraries and headers only the target's multiarch ones.
set(CMAKE_FIND_ROOT_PATH /usr/${LPW_TARGET_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config must see the target's .pc files only, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${LPW_TARGET_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# The multiarch libc6:<arch> provides the dynamic loader at its usual path, so qemu needs no -L.
find_program(LPW_QEMU ${LPW_QEMU_NAME})
if(LPW_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LPW_QEMU})
endif()
