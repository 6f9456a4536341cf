// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Time comes from a Clock the caller can replace, so every check is testable.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace interkonto {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
public:
  TimePoint now() const override;
};

// A clock that stands still until told otherwise (tests, `--now`).
class FixedClock final : public Clock {
public:
  explicit FixedClock(TimePoint t) : t_(t) {}
  TimePoint now() const override { return t_; }
  void set(TimePoint t) { t_ = t; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

private:
  TimePoint t_;
};

// xs:dateTime / RFC 3339. With require_utc (RFC 3339 UTC, the CLI's --now),
// only a `Z` suffix is accepted, and RFC 3339's lower-case `t`/`z` too;
// otherwise (xs:dateTime in documents) numeric offsets are honoured. Fractions are
// kept to the millisecond (truncated). Returns nullopt on any syntax error.
std::optional<TimePoint> parse_datetime(std::string_view text, bool require_utc = false);

// RFC 3339 UTC, `Z` suffix, milliseconds only when non-zero.
std::string format_datetime(TimePoint t);

} // namespace interkonto
