# find_package(interkonto) and pkg-config work after install (plain builds
# only: a sanitizer build's library needs the sanitizer runtime to link).
if(NOT CMAKE_CXX_FLAGS MATCHES "sanitize")
  add_test(NAME install_consumer
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/install/run.sh ${PROJECT_BINARY_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/install_consumer)
  set_tests_properties(install_consumer PROPERTIES TIMEOUT 300 LABELS interop)
endif()
