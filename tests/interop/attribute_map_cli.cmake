# SPDX-License-Identifier: EUPL-1.2
# `interkonto verify-response --attribute-map FILE|builtin:NAME`: the
# `mapped` and `trustLevel` JSON fields, unchanged output without the flag,
# attribute_missing (exit 1) and unusable maps (exit 2), driven as a process
# with responses signed by tests/interop/independent_signer.py.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto_cli)
  add_test(NAME attribute_map_cli
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/attribute_map_cli.py
                   --cli $<TARGET_FILE:interkonto_cli>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/attribute_map_cli)
  set_tests_properties(attribute_map_cli PROPERTIES TIMEOUT 300 LABELS interop)
endif()
