# SPDX-License-Identifier: EUPL-1.2
# bench_proxy: CPU per complete proxy login in-process (portal request ->
# upstream request -> upstream response -> portal response), RSA-3072 keys,
# against the floor of its six public-key operations done with OpenSSL in
# the same run. Included from tests/bench/CMakeLists.txt
# (CMAKE_CURRENT_SOURCE_DIR is tests/bench). Run it with
# tests/bench/run_proxy.sh.

add_executable(bench_proxy ${CMAKE_CURRENT_SOURCE_DIR}/bench_proxy.cpp)
# tests/ on the include path for unit/test_keys.hpp.
target_include_directories(bench_proxy PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/..)
target_link_libraries(bench_proxy PRIVATE interkonto OpenSSL::Crypto fmt::fmt)
interkonto_warnings(bench_proxy)
