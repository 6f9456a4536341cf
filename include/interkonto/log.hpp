// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Logging goes through a sink the host provides (an adapter routes it to its
// server's log). The library never writes to stdout/stderr itself, and logs
// no personal attribute values at info level or above.

#include <functional>
#include <string_view>

namespace interkonto {

enum class LogLevel { debug, info, warning, error };

using LogSink = std::function<void(LogLevel, std::string_view message)>;

} // namespace interkonto
