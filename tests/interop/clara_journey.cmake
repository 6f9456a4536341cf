# SPDX-License-Identifier: EUPL-1.2
# The five-party Clara demo as real processes (examples/clara): run.sh
# --journey on free ports (addresses 127.0.0.2-6) in a fresh directory —
# demo CA, TLS and SAML keys, metadata, the aggregate signed with
# `interkonto metadata sign` — the journey headless with every step printed
# and the Bauvoranfrage form filled; nothing left running afterwards; run.sh
# in the foreground stopped by Ctrl-C and by SIGTERM; a party with the
# metadata server down (503 without a backing file, working with one).
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto_clara AND TARGET interkonto_clara_journey AND TARGET interkonto_metadata_server
   AND TARGET interkonto_cli)
  add_test(NAME clara_journey_cli
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/clara_journey.py
                   --run-sh ${PROJECT_SOURCE_DIR}/examples/clara/run.sh
                   --build-dir ${PROJECT_BINARY_DIR}
                   --cli $<TARGET_FILE:interkonto_cli>
                   --clara $<TARGET_FILE:interkonto_clara>
                   --journey $<TARGET_FILE:interkonto_clara_journey>
                   --metadata-server $<TARGET_FILE:interkonto_metadata_server>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/clara_journey)
  set_tests_properties(clara_journey_cli PROPERTIES TIMEOUT 900 LABELS interop SKIP_RETURN_CODE 77)
endif()
