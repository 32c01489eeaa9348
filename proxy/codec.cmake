# lpw_coap_codec: datagram CoAP (RFC 7252) <-> coap_pdu_t. Included from proxy/CMakeLists.txt.
add_library(lpw_coap_codec STATIC ${CMAKE_CURRENT_LIST_DIR}/coap_codec.c)
lpw_target_defaults(lpw_coap_codec)
target_link_libraries(lpw_coap_codec PUBLIC lpw_core lpw::coap)
