// SPDX-License-Identifier: EUPL-1.2
#pragma once
// `interkonto metadata sign|verify|list|show` (see metadata_cmd.cpp).

#include <CLI/CLI.hpp>

namespace interkonto::cli {

// Adds the `metadata` subcommand with its four subcommands to `app`.
CLI::App *add_metadata_command(CLI::App &app);
// Runs whichever metadata subcommand was parsed. Returns the exit code
// (0 ok, 1 verification failed, 2 usage or I/O error).
int run_metadata_command(CLI::App *metadata);

} // namespace interkonto::cli
