# SPDX-License-Identifier: EUPL-1.2
# Browser test of the IdP discovery page: discovery_server (interkonto::
# Discovery over cpp-httplib on 127.0.0.1) driven by Debian's headless
# Chromium through playwright-core, checked with axe-core for WCAG 2.1 A/AA
# in German and English, and keyboard-only. The npm packages are pinned in
# package-lock.json and installed by tools/setup.sh (npm ci).
# Included from tests/interop/discovery_e2e.cmake.

if(NOT TARGET PkgConfig::CPPHTTPLIB)
  pkg_check_modules(CPPHTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
endif()
find_package(Threads REQUIRED)

add_executable(discovery_e2e_server ${CMAKE_CURRENT_LIST_DIR}/discovery_server.cpp)
target_include_directories(discovery_e2e_server PRIVATE ${PROJECT_SOURCE_DIR}/examples)
target_link_libraries(discovery_e2e_server
  PRIVATE interkonto::interkonto PkgConfig::CPPHTTPLIB fmt::fmt Threads::Threads)
interkonto_warnings(discovery_e2e_server)

add_test(NAME discovery_e2e
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run.sh $<TARGET_FILE:discovery_e2e_server>)
set_tests_properties(discovery_e2e PROPERTIES LABELS e2e TIMEOUT 300)
