# SPDX-License-Identifier: EUPL-1.2
# The contract of `interkonto metadata sign|verify|list|show` (exit codes,
# the `OK ...` line, `<code>: <detail>` on stderr, list format and language
# fallbacks, show summary and --xml, http(s) SOURCE on loopback, key
# rollover, --max-validity, RSA-PSS and ECDSA), driven as a process with keys
# from the openssl command and the aggregate checked by independent_signer.py.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto_cli)
  add_test(NAME metadata_cli
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/metadata_cli.py
                   --cli $<TARGET_FILE:interkonto_cli>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/metadata_cli)
  set_tests_properties(metadata_cli PROPERTIES TIMEOUT 300 LABELS interop)
endif()
