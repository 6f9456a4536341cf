// SPDX-License-Identifier: EUPL-1.2
// A portal linking the installed library: only public headers, one call.
#include <interkonto/sp.hpp>

#include <iostream>

int main() {
  std::cout << interkonto::stork_level_uri(3) << " " << interkonto::to_string(interkonto::ErrorCode::replayed)
            << "\n";
  return interkonto::parse_stork_level("STORK-QAA-Level-3") == 3 ? 0 : 1;
}
