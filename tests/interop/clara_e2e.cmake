# SPDX-License-Identifier: EUPL-1.2
# The Clara journey in a real browser (tests/e2e/clara.test.mjs): the five
# processes of examples/clara/run.sh on a free port (127.0.0.2-6, HTTPS with
# the demo CA), headless Debian Chromium through playwright-core: the happy
# path to the filled Bauvoranfrage form, wrong password, cancel at consent,
# trust level too low, Back after the POST; axe-core WCAG 2.1 A/AA on the
# login, consent, form and error pages. Full-page screenshots of every
# case's final page in <build>/tests/clara_e2e_artifacts/.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto_clara AND TARGET interkonto_clara_journey AND TARGET interkonto_metadata_server
   AND TARGET interkonto_cli)
  add_test(NAME clara_e2e
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/e2e/clara_run.sh
                   --run-sh ${PROJECT_SOURCE_DIR}/examples/clara/run.sh
                   --build-dir ${PROJECT_BINARY_DIR}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/clara_e2e
                   --artifacts ${CMAKE_CURRENT_BINARY_DIR}/clara_e2e_artifacts)
  set_tests_properties(clara_e2e PROPERTIES
    LABELS e2e TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "INTERKONTO_CLI=$<TARGET_FILE:interkonto_cli>;INTERKONTO_CLARA=$<TARGET_FILE:interkonto_clara>;INTERKONTO_CLARA_JOURNEY=$<TARGET_FILE:interkonto_clara_journey>;INTERKONTO_METADATA_SERVER=$<TARGET_FILE:interkonto_metadata_server>")
endif()
