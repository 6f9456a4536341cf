# SPDX-License-Identifier: EUPL-1.2
# Interop test against a real SimpleSAMLphp SP (Debian simplesamlphp) on
# loopback: run.sh starts it under PHP's built-in server with interkonto's
# IdP metadata; the driver plays browser and IdP and posts a signed,
# encrypted Response to SimpleSAMLphp's ACS.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.

if(NOT TARGET CURL::libcurl)
  find_package(CURL REQUIRED)
endif()

add_executable(ssp_sp_interop_driver ${CMAKE_CURRENT_SOURCE_DIR}/interop/simplesamlphp_sp/driver.cpp)
target_link_libraries(ssp_sp_interop_driver PRIVATE interkonto::interkonto CURL::libcurl fmt::fmt)
interkonto_warnings(ssp_sp_interop_driver)

add_test(NAME simplesamlphp_sp_interop
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/simplesamlphp_sp/run.sh
                 $<TARGET_FILE:ssp_sp_interop_driver> ${CMAKE_CURRENT_BINARY_DIR}/ssp_sp_work)
set_tests_properties(simplesamlphp_sp_interop PROPERTIES TIMEOUT 300 LABELS interop)
