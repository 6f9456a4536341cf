# SPDX-License-Identifier: EUPL-1.2
# The discovery page in a real browser (tests/e2e): headless Chromium,
# axe-core WCAG 2.1 A/AA checks in de and en, keyboard-only choice and search.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
include(${CMAKE_CURRENT_SOURCE_DIR}/e2e/e2e.cmake)
