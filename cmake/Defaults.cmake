# Compiler flags every target of ours gets: warnings are errors, hardening on.
set(LPW_WARNINGS -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter -Wvla -Wpointer-arith)
set(LPW_HARDENING -fstack-protector-strong -fno-common)
if(NOT LPW_SANITIZE)
  list(APPEND LPW_HARDENING -D_FORTIFY_SOURCE=2)
endif()

if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo)
endif()

# Fuzz builds (clang): every library is instrumented for coverage, so libFuzzer sees inside the parsers.
if(LPW_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(LPW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# lpw_target_defaults(<target>): our warnings, hardening and include root.
function(lpw_target_defaults target)
  target_compile_options(${target} PRIVATE ${LPW_WARNINGS} ${LPW_HARDENING})
  # _FILE_OFFSET_BITS=64: on 32-bit ARM (armhf), readdir() and stat() otherwise fail with EOVERFLOW on a 64-bit
  # kernel (Raspberry Pi OS runs armhf userland on one) or under qemu-user (issue 18). No library we use has off_t
  # in its API. time_t stays 32-bit: Debian 12's armhf libraries are built that way.
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE _FILE_OFFSET_BITS=64 LPW_VERSION="${PROJECT_VERSION}")
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()

# lpw_unit_test(NAME <n> LABEL <label> SOURCES <src...> LIBS <libs...>)
# One cmocka executable registered with ctest under its area's label.
function(lpw_unit_test)
  cmake_parse_arguments(T "" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  lpw_target_defaults(${T_NAME})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} lpw::cmocka)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(CMAKE_CROSSCOMPILING_EMULATOR) # a cross build: ctest runs it under qemu-user (issue 18, tests/arm)
    list(APPEND T_LABEL arm)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}" TIMEOUT 120)
endfunction()

# add_subdirectory for every child folder of the current one that has a CMakeLists.txt,
# so modules and tests can be added without editing a shared list.
function(lpw_add_child_dirs)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
