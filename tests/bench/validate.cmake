# SPDX-License-Identifier: EUPL-1.2
# bench_validate: ResponseValidator::validate against Lasso 2.8.1 doing the
# same validation, one core, ratios against baselines from the same run.
# Included from tests/bench/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is
# tests/bench). Run it with tests/bench/run.sh.

if(NOT TARGET PkgConfig::LASSO)
  pkg_check_modules(LASSO REQUIRED IMPORTED_TARGET lasso)
endif()

add_executable(bench_validate ${CMAKE_CURRENT_SOURCE_DIR}/bench_validate.cpp)
# tests/ on the include path for unit/saml_fixture.hpp (response generator).
target_include_directories(bench_validate PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
# pkg-config lists glib/gobject as private to lasso: link them ourselves.
target_link_libraries(bench_validate PRIVATE interkonto interkonto_internal PkgConfig::LASSO PkgConfig::GOBJECT
                                             OpenSSL::Crypto fmt::fmt)
interkonto_warnings(bench_validate)
target_compile_definitions(bench_validate PRIVATE BENCH_LASSO_VERSION="${LASSO_VERSION}")
