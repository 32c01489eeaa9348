# Every external library is found here, once.
find_package(PkgConfig REQUIRED)

# The one place that picks libcoap's TLS backend: mbedTLS where a build of it
# is installed, else OpenSSL (what Debian 12 ships).
pkg_check_modules(COAP QUIET IMPORTED_TARGET libcoap-3-mbedtls)
if(COAP_FOUND)
  set(LPW_COAP_BACKEND mbedtls)
else()
  pkg_check_modules(COAP REQUIRED IMPORTED_TARGET libcoap-3-openssl)
  set(LPW_COAP_BACKEND openssl)
endif()
message(STATUS "libcoap ${COAP_VERSION}, TLS backend: ${LPW_COAP_BACKEND}")
add_library(lpw::coap ALIAS PkgConfig::COAP)
# The upstream code reads the TLS alert that ended a handshake from the backend itself (libcoap 4.3.1 does not
# report it), and puts a read gate into the TLS session until the server's CSM arrives (proxy/upstream_guard.h):
# lpw::coap_backend carries those libraries and a define naming the backend.
add_library(lpw_coap_backend INTERFACE)
if(LPW_COAP_BACKEND STREQUAL "openssl")
  pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libssl libcrypto)
  target_link_libraries(lpw_coap_backend INTERFACE PkgConfig::LIBCRYPTO)
  target_compile_definitions(lpw_coap_backend INTERFACE LPW_COAP_OPENSSL=1)
else()
  target_compile_definitions(lpw_coap_backend INTERFACE LPW_COAP_MBEDTLS=1)
endif()
add_library(lpw::coap_backend ALIAS lpw_coap_backend)

pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)
add_library(lpw::mosquitto ALIAS PkgConfig::MOSQUITTO)
pkg_check_modules(LIBCONFIG REQUIRED IMPORTED_TARGET libconfig)
add_library(lpw::libconfig ALIAS PkgConfig::LIBCONFIG)
pkg_check_modules(GPIOD REQUIRED IMPORTED_TARGET libgpiod)
add_library(lpw::gpiod ALIAS PkgConfig::GPIOD)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
add_library(lpw::cmocka ALIAS PkgConfig::CMOCKA)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
add_library(lpw::sqlite ALIAS PkgConfig::SQLITE)

# Debian 12's mbedTLS 2.28 ships no pkg-config file.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/version.h REQUIRED)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto REQUIRED)
find_library(MBEDX509_LIBRARY mbedx509 REQUIRED)
find_library(MBEDTLS_LIBRARY mbedtls REQUIRED)
add_library(lpw_mbedtls INTERFACE)
target_include_directories(lpw_mbedtls INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(lpw_mbedtls INTERFACE ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY} ${MBEDCRYPTO_LIBRARY})
add_library(lpw::mbedtls ALIAS lpw_mbedtls)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
add_library(lpw::jansson ALIAS PkgConfig::JANSSON)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
add_library(lpw::curl ALIAS PkgConfig::CURL)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
add_library(lpw::microhttpd ALIAS PkgConfig::MHD)
