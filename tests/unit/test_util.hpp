// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Small helpers shared by the unit tests.

#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "interkonto/error.hpp"

namespace interkonto::test {

// The code of the interkonto::Error that `f` throws; fails the test when it
// throws none. `detail` receives the error's detail when given.
inline ErrorCode code_of(const std::function<void()> &f, std::string *detail = nullptr) {
  try {
    f();
  } catch (const Error &e) {
    if (detail != nullptr) *detail = e.detail();
    return e.code();
  }
  FAIL("no interkonto::Error thrown");
  return ErrorCode::internal;
}

} // namespace interkonto::test
