# SPDX-License-Identifier: EUPL-1.2
# The contract of `interkonto verify-response` (exit codes, stdout JSON,
# stderr `<code>: <detail>`, input forms, --now/--clock-skew time windows,
# InResponseTo, audience, Destination, Recipient, metadata validUntil,
# --sp-key rollover), driven as a process with keys, metadata and responses
# made by tests/interop/independent_signer.py.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto_cli)
  add_test(NAME cli_contract
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/cli_contract.py
                   --cli $<TARGET_FILE:interkonto_cli>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/cli_contract)
  set_tests_properties(cli_contract PROPERTIES TIMEOUT 300 LABELS interop)
endif()
