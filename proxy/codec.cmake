# lpw_coap_codec: datagram CoAP (RFC 7252) <-> coap_pdu_t. Included from proxy/CMakeLists.txt.
add_library(lpw_coap_codec STATIC ${CMAKE_CURRENT_LIST_DIR}/coap_codec.c)
lpw_target_defaults(lpw_coap_codec)
target_link_libraries(lpw_coap_codec PUBLIC lpw_core lpw::coap)

# libFuzzer target for the parser and encoder (clang only: configure with CC=clang -DLPW_FUZZ=ON).
if(LPW_FUZZ)
  add_executable(coap_udp_fuzz ${PROJECT_SOURCE_DIR}/tests/fuzz/coap_udp_fuzz.c)
  lpw_target_defaults(coap_udp_fuzz)
  target_compile_options(coap_udp_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(coap_udp_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_libraries(coap_udp_fuzz PRIVATE lpw_coap_codec)
endif()
