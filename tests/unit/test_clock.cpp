// SPDX-License-Identifier: EUPL-1.2
// xs:dateTime parsing and formatting, and the replaceable clocks.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "interkonto/clock.hpp"

using namespace interkonto;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

// 2026-05-04T10:00:00Z built without the parser under test.
TimePoint may4_10h() {
  return time_point_cast<milliseconds>(sys_days{2026y / May / 4}) + 10h;
}

} // namespace

TEST_CASE("parse_datetime: UTC with Z", "[clock]") {
  const auto t = parse_datetime("2026-05-04T10:00:00Z");
  REQUIRE(t);
  CHECK(*t == may4_10h());
  CHECK(parse_datetime("2026-05-04T10:00:00Z", true) == t);
  CHECK(parse_datetime("1970-01-01T00:00:00Z") == TimePoint{});
  CHECK(parse_datetime("2024-02-29T23:59:59Z") ==
        std::optional<TimePoint>(time_point_cast<milliseconds>(sys_days{2024y / February / 29}) + 23h +
                                 59min + 59s));
  CHECK(parse_datetime("1969-12-31T23:59:59Z") == std::optional<TimePoint>(TimePoint{} - 1s));
}

TEST_CASE("parse_datetime: fractions are kept to the millisecond", "[clock]") {
  CHECK(parse_datetime("2026-05-04T10:00:00.5Z") == std::optional<TimePoint>(may4_10h() + 500ms));
  CHECK(parse_datetime("2026-05-04T10:00:00.12Z") == std::optional<TimePoint>(may4_10h() + 120ms));
  CHECK(parse_datetime("2026-05-04T10:00:00.123Z") == std::optional<TimePoint>(may4_10h() + 123ms));
  // Truncated, not rounded.
  CHECK(parse_datetime("2026-05-04T10:00:00.1239Z") == std::optional<TimePoint>(may4_10h() + 123ms));
  CHECK(parse_datetime("2026-05-04T10:00:00.999999999Z") == std::optional<TimePoint>(may4_10h() + 999ms));
  CHECK(parse_datetime("2026-05-04T10:00:00.000Z") == std::optional<TimePoint>(may4_10h()));
  CHECK_FALSE(parse_datetime("2026-05-04T10:00:00.Z"));
  CHECK_FALSE(parse_datetime("2026-05-04T10:00:00.Z", true));
}

TEST_CASE("parse_datetime: numeric offsets unless require_utc", "[clock]") {
  CHECK(parse_datetime("2026-05-04T12:00:00+02:00") == std::optional<TimePoint>(may4_10h()));
  CHECK(parse_datetime("2026-05-04T05:30:00-04:30") == std::optional<TimePoint>(may4_10h()));
  CHECK(parse_datetime("2026-05-04T10:00:00+00:00") == std::optional<TimePoint>(may4_10h()));
  CHECK(parse_datetime("2026-05-04T12:00:00.250+02:00") == std::optional<TimePoint>(may4_10h() + 250ms));
  // Across a day boundary.
  CHECK(parse_datetime("2026-05-05T01:00:00+15:00") == std::optional<TimePoint>(may4_10h()));

  SECTION("require_utc refuses offsets and zone-less times") {
    CHECK_FALSE(parse_datetime("2026-05-04T12:00:00+02:00", true));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00+00:00", true));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00-00:00", true));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00", true));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00.123", true));
  }
  SECTION("a time without zone is ambiguous and refused") {
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00"));
  }
  SECTION("malformed offsets") {
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00+0200"));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00+02"));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00+24:00"));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00+02:60"));
    CHECK_FALSE(parse_datetime("2026-05-04T10:00:00+02:00Z"));
  }
}

TEST_CASE("parse_datetime: invalid dates and syntax", "[clock]") {
  for (const char *bad : {
           "2026-02-30T10:00:00Z", // no such day
           "2025-02-29T10:00:00Z", // not a leap year
           "2026-04-31T10:00:00Z",
           "2026-13-01T10:00:00Z",
           "2026-00-10T10:00:00Z",
           "2026-05-00T10:00:00Z",
           "2026-05-04T24:00:00Z",
           "2026-05-04T10:60:00Z",
           "2026-05-04T10:00:61Z",
           "2026-05-04 10:00:00Z", // space instead of T
           "2026-5-4T10:00:00Z",
           "26-05-04T10:00:00Z",
           "2026-05-04T10:00Z",
           "2026-05-04",
           "2026-05-04T10:00:00ZZ",
           "2026-05-04T10:00:00Z ",
           " 2026-05-04T10:00:00Z",
           "+2026-05-04T10:00:00Z",
           "2026-05-04T1a:00:00Z",
           "",
           "Z",
       }) {
    INFO("input: '" << bad << "'");
    CHECK_FALSE(parse_datetime(bad));
    CHECK_FALSE(parse_datetime(bad, true));
  }
}

TEST_CASE("format_datetime: RFC 3339 UTC, milliseconds only when non-zero", "[clock]") {
  CHECK(format_datetime(may4_10h()) == "2026-05-04T10:00:00Z");
  CHECK(format_datetime(may4_10h() + 7ms) == "2026-05-04T10:00:00.007Z");
  CHECK(format_datetime(may4_10h() + 120ms) == "2026-05-04T10:00:00.120Z");
  CHECK(format_datetime(may4_10h() + 14h - 1ms) == "2026-05-04T23:59:59.999Z");
  CHECK(format_datetime(TimePoint{}) == "1970-01-01T00:00:00Z");
  CHECK(format_datetime(TimePoint{} - 1ms) == "1969-12-31T23:59:59.999Z");
  CHECK(format_datetime(time_point_cast<milliseconds>(sys_days{2024y / February / 29})) ==
        "2024-02-29T00:00:00Z");
}

TEST_CASE("parse and format round trip", "[clock]") {
  for (const char *s : {"2026-05-04T10:00:00Z", "2026-05-04T10:00:00.001Z", "2026-12-31T23:59:59.999Z",
                        "2000-02-29T12:34:56.789Z", "1999-01-01T00:00:00Z", "2099-06-15T08:09:10.500Z"}) {
    INFO(s);
    const auto t = parse_datetime(s, true);
    REQUIRE(t);
    CHECK(format_datetime(*t) == s);
  }
  for (milliseconds ms : {0ms, 1ms, 999ms, 86'399'999ms, 1'234'567'890'123ms}) {
    const TimePoint t = may4_10h() + ms;
    const auto back = parse_datetime(format_datetime(t), true);
    REQUIRE(back);
    CHECK(*back == t);
  }
  // An offset form comes back in canonical UTC.
  const auto t = parse_datetime("2026-05-04T12:00:00.250+02:00");
  REQUIRE(t);
  CHECK(format_datetime(*t) == "2026-05-04T10:00:00.250Z");
}

TEST_CASE("FixedClock stands still until told", "[clock]") {
  FixedClock c(may4_10h());
  CHECK(c.now() == may4_10h());
  CHECK(c.now() == may4_10h());
  c.advance(90s);
  CHECK(c.now() == may4_10h() + 90s);
  c.set(TimePoint{});
  CHECK(c.now() == TimePoint{});
  const Clock &base = c;
  CHECK(base.now() == TimePoint{});

  SystemClock sys;
  // Milliseconds since the epoch, some time after 2020.
  CHECK(sys.now() > time_point_cast<milliseconds>(sys_days{2020y / January / 1}));
}

TEST_CASE("RFC 3339 mode accepts lower-case t and z, xs:dateTime mode does not", "[clock]") {
  // RFC 3339 §5.6 allows lower case; XML Schema's dateTime does not.
  for (const char *v : {"2026-05-04t10:00:00Z", "2026-05-04T10:00:00z"}) {
    INFO(v);
    CHECK_FALSE(parse_datetime(v));
    REQUIRE(parse_datetime(v, true));
    CHECK(format_datetime(*parse_datetime(v, true)) == "2026-05-04T10:00:00Z");
  }
}
