# SPDX-License-Identifier: EUPL-1.2
# MDQ and aggregate serving against the real metadata server example
# (examples/metadata-server): mdq_test.py starts it on 127.0.0.1 with a key
# made by the openssl CLI, checks ETag / Last-Modified / 304 with curl, and
# runs mdq_client_check (interkonto::MdqClient) against it.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto_metadata_server)
  find_package(Threads REQUIRED)
  add_executable(mdq_client_check ${CMAKE_CURRENT_SOURCE_DIR}/interop/mdq_client_check.cpp)
  target_link_libraries(mdq_client_check PRIVATE interkonto::interkonto fmt::fmt Threads::Threads)
  interkonto_warnings(mdq_client_check)

  add_test(NAME mdq_metadata_server
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/mdq_test.py
                   --server $<TARGET_FILE:interkonto_metadata_server>
                   --client $<TARGET_FILE:mdq_client_check>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/mdq_work)
  set_tests_properties(mdq_metadata_server PROPERTIES TIMEOUT 300 LABELS interop)
endif()
