# SPDX-License-Identifier: EUPL-1.2
# Interop test against a real SimpleSAMLphp IdP (Debian simplesamlphp) on
# loopback: run.sh starts it under PHP's built-in server, the driver logs in
# as the browser and hands the IdP's POST to interkonto's ServiceProvider.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.

if(NOT TARGET CURL::libcurl)
  find_package(CURL REQUIRED)
endif()

add_executable(ssp_interop_driver ${CMAKE_CURRENT_SOURCE_DIR}/interop/simplesamlphp/driver.cpp)
target_link_libraries(ssp_interop_driver PRIVATE interkonto::interkonto CURL::libcurl fmt::fmt)
interkonto_warnings(ssp_interop_driver)

add_test(NAME simplesamlphp_interop
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/simplesamlphp/run.sh
                 $<TARGET_FILE:ssp_interop_driver> ${CMAKE_CURRENT_BINARY_DIR}/ssp_work)
set_tests_properties(simplesamlphp_interop PROPERTIES TIMEOUT 300 LABELS interop)
