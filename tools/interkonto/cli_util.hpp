// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Small helpers shared by the `interkonto` subcommands.

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>

namespace interkonto::cli {

// Bad flags or unusable files: exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Line breaks become spaces (stderr lines are one line each).
inline std::string one_line(std::string s) {
  for (char &c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// A regular file's bytes, or stdin for "-". Anything else: UsageError.
inline std::string read_input(const std::string &path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw UsageError(fmt::format("cannot read {}: not a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read {}", path));
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw UsageError(fmt::format("cannot read {}", path));
  return content;
}

} // namespace interkonto::cli
