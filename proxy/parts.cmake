# lpw_proxy_parts: pure building blocks of the proxy (no sockets, no libcoap sessions): duplicate detection,
# registration awareness, TLS alert policy and back-off, PDU helpers, the first-message (CSM) check. Included from proxy/CMakeLists.txt.
add_library(lpw_proxy_parts STATIC
  ${CMAKE_CURRENT_LIST_DIR}/dedup.c
  ${CMAKE_CURRENT_LIST_DIR}/registration.c
  ${CMAKE_CURRENT_LIST_DIR}/alerts.c
  ${CMAKE_CURRENT_LIST_DIR}/pdu_util.c
  ${CMAKE_CURRENT_LIST_DIR}/csm.c)
lpw_target_defaults(lpw_proxy_parts)
target_link_libraries(lpw_proxy_parts PUBLIC lpw_core lpw::coap)
