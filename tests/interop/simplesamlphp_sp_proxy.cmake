# SPDX-License-Identifier: EUPL-1.2
# Interop test against a real SimpleSAMLphp SP (Debian simplesamlphp) on
# loopback, behind interkonto's IdP/SP proxy: run.sh starts SimpleSAMLphp
# under PHP's built-in server with the proxy's IdP metadata; the driver
# plays the browser, runs the proxy and the upstream IdP (Servicekonto.NRW)
# in-process and posts the proxy's signed, encrypted Response (or its SAML
# error Response) to SimpleSAMLphp's ACS.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.

if(NOT TARGET CURL::libcurl)
  find_package(CURL REQUIRED)
endif()
if(NOT TARGET OpenSSL::Crypto)
  find_package(OpenSSL REQUIRED)
endif()

add_executable(ssp_proxy_interop_driver ${CMAKE_CURRENT_SOURCE_DIR}/interop/simplesamlphp_sp_proxy/driver.cpp)
# OpenSSL: tests/unit/test_keys.hpp generates the in-process keys.
target_link_libraries(ssp_proxy_interop_driver PRIVATE interkonto::interkonto CURL::libcurl OpenSSL::Crypto fmt::fmt)
# tests/ on the include path for unit/saml_browser.hpp (it includes unit/test_keys.hpp).
target_include_directories(ssp_proxy_interop_driver PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
interkonto_warnings(ssp_proxy_interop_driver)

add_test(NAME simplesamlphp_sp_proxy
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/simplesamlphp_sp_proxy/run.sh
                 $<TARGET_FILE:ssp_proxy_interop_driver> ${CMAKE_CURRENT_BINARY_DIR}/ssp_sp_proxy_work)
set_tests_properties(simplesamlphp_sp_proxy PROPERTIES TIMEOUT 300 LABELS interop)
