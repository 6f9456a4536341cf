# SPDX-License-Identifier: EUPL-1.2
# bench_metadata: loading signed federation aggregates (1,000 / 5,000 /
# 10,000 eduGAIN-like entities) with interkonto::load_aggregate against
# Lasso 2.8.1's lasso_server_load_metadata; memory, lookups, refresh, and
# logins during a refresh. Included from tests/bench/CMakeLists.txt
# (CMAKE_CURRENT_SOURCE_DIR is tests/bench). Run it with
# tests/bench/run_metadata.sh.

if(NOT TARGET PkgConfig::LASSO)
  pkg_check_modules(LASSO REQUIRED IMPORTED_TARGET lasso)
endif()

add_executable(bench_metadata ${CMAKE_CURRENT_SOURCE_DIR}/bench_metadata.cpp)
# tests/ on the include path for unit/saml_fixture.hpp and unit/test_keys.hpp.
target_include_directories(bench_metadata PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
# pkg-config lists glib/gobject as private to lasso: link them ourselves.
target_link_libraries(bench_metadata PRIVATE interkonto interkonto_internal PkgConfig::LASSO PkgConfig::GOBJECT
                                             OpenSSL::Crypto fmt::fmt)
interkonto_warnings(bench_metadata)
target_compile_definitions(bench_metadata PRIVATE BENCH_LASSO_VERSION="${LASSO_VERSION}")
