// SPDX-License-Identifier: EUPL-1.2
// The in-memory stores: replay cache, request tracker, session store, and
// the random identifiers they are keyed on.

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>

#include "interkonto/clock.hpp"
#include "interkonto/error.hpp"
#include "interkonto/session.hpp"

using namespace interkonto;
using namespace std::chrono_literals;

namespace {

TimePoint t0() {
  const auto t = parse_datetime("2026-05-04T10:00:00Z");
  REQUIRE(t.has_value());
  return *t;
}

PendingRequest pending(const std::string &id, TimePoint expires) {
  PendingRequest p;
  p.request_id = id;
  p.idp_entity_id = "https://idp.nrw.example/saml";
  p.browser_binding = "binding-" + id;
  p.relay_state = "rs-" + id;
  p.return_to = "/bauvoranfrage";
  p.min_trust_level = 3;
  p.expires = expires;
  return p;
}

Session session(const std::string &id, TimePoint created, std::chrono::milliseconds absolute) {
  Session s;
  s.id = id;
  s.idp_entity_id = "https://idp.nrw.example/saml";
  s.name_id = "AAdzZWNyZXQ";
  s.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
  s.session_index = "_s1";
  s.authn_context_class_ref = "STORK-QAA-Level-3";
  s.attributes = {{"urn:oid:2.5.4.42", {"Clara"}}};
  s.created = created;
  s.last_seen = created;
  s.expires = created + absolute;
  return s;
}

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

} // namespace

TEST_CASE("random_id: 22 base64url characters, distinct", "[session]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_id();
    REQUIRE(id.size() == 22);
    for (char c : id) REQUIRE(is_base64url(c));
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
  // 128 bits: 21 characters carry 126 bits, the last one the remaining 2.
  std::set<char> last;
  for (const auto &id : seen) last.insert(id.back());
  for (char c : last) CHECK(std::string("AQgw").find(c) != std::string::npos);
  CHECK(last.size() >= 2);
}

TEST_CASE("InMemoryReplayCache", "[session]") {
  const TimePoint now = t0();
  InMemoryReplayCache cache;

  SECTION("the second insert of an ID is a replay") {
    CHECK(cache.insert("https://idp.a", "_assert-1", now + 5min, now));
    CHECK_FALSE(cache.insert("https://idp.a", "_assert-1", now + 5min, now));
    CHECK_FALSE(cache.insert("https://idp.a", "_assert-1", now + 10min, now + 1min));
    CHECK(cache.size() == 1);
  }
  SECTION("IDs are kept per issuer") {
    CHECK(cache.insert("https://idp.a", "_assert-1", now + 5min, now));
    CHECK(cache.insert("https://idp.b", "_assert-1", now + 5min, now));
    CHECK(cache.size() == 2);
    // No confusion by concatenation.
    CHECK(cache.insert("https://idp.a_", "assert-1", now + 5min, now));
    CHECK(cache.size() == 3);
  }
  SECTION("still a replay until the entry expires") {
    CHECK(cache.insert("i", "_x", now + 5min, now));
    CHECK_FALSE(cache.insert("i", "_x", now + 5min, now + 5min - 1ms));
  }
  SECTION("expired entries are purged") {
    CHECK(cache.insert("i", "_a", now + 1min, now));
    CHECK(cache.insert("i", "_b", now + 2min, now));
    CHECK(cache.insert("i", "_c", now + 10min, now));
    CHECK(cache.size() == 3);
    // Any insert after the expiry purges what has expired.
    CHECK(cache.insert("i", "_d", now + 10min, now + 3min));
    CHECK(cache.size() == 2);
    CHECK_FALSE(cache.insert("i", "_c", now + 10min, now + 3min));
    CHECK(cache.insert("i", "_e", now + 20min, now + 11min));
    CHECK(cache.size() == 1);
  }
  SECTION("a full cache never forgets an unexpired ID") {
    InMemoryReplayCache small(2);
    CHECK(small.insert("i", "_a", now + 5min, now));
    CHECK(small.insert("i", "_b", now + 5min, now));
    bool third = false;
    try {
      third = small.insert("i", "_c", now + 5min, now);
    } catch (const Error &) {
      third = false;
    }
    CHECK(small.size() <= 2);
    // Whatever happened to _c, _a and _b are still known.
    CHECK_FALSE(small.insert("i", "_a", now + 5min, now));
    CHECK_FALSE(small.insert("i", "_b", now + 5min, now));
    if (third) CHECK_FALSE(small.insert("i", "_c", now + 5min, now));
    // Once they expire there is room again.
    CHECK(small.insert("i", "_d", now + 20min, now + 6min));
  }
}

TEST_CASE("InMemoryRequestTracker", "[session]") {
  const TimePoint now = t0();
  InMemoryRequestTracker tracker;

  SECTION("take is single use and returns what was put") {
    tracker.put(pending("_r1", now + 10min));
    CHECK(tracker.size() == 1);
    const auto got = tracker.take("_r1", now + 1min);
    REQUIRE(got.has_value());
    CHECK(got->request_id == "_r1");
    CHECK(got->browser_binding == "binding-_r1");
    CHECK(got->relay_state == "rs-_r1");
    CHECK(got->return_to == "/bauvoranfrage");
    CHECK(got->min_trust_level == std::optional<int>(3));
    CHECK(got->expires == now + 10min);
    CHECK_FALSE(tracker.take("_r1", now + 1min).has_value());
    CHECK(tracker.size() == 0);
  }
  SECTION("unknown IDs") {
    tracker.put(pending("_r1", now + 10min));
    CHECK_FALSE(tracker.take("_r2", now).has_value());
    CHECK_FALSE(tracker.take("", now).has_value());
    CHECK_FALSE(tracker.take("_r", now).has_value());
    CHECK(tracker.take("_r1", now).has_value());
  }
  SECTION("an expired request is gone") {
    tracker.put(pending("_r1", now + 10min));
    tracker.put(pending("_r2", now + 10min));
    CHECK_FALSE(tracker.take("_r1", now + 10min).has_value());
    CHECK_FALSE(tracker.take("_r2", now + 11min).has_value());
    CHECK(tracker.size() == 0);
  }
  SECTION("just before expiry it is still there") {
    tracker.put(pending("_r1", now + 10min));
    CHECK(tracker.take("_r1", now + 10min - 1ms).has_value());
  }
  SECTION("bounded: the oldest outstanding requests make room") {
    InMemoryRequestTracker small(3);
    for (int i = 0; i < 10; ++i)
      small.put(pending("_r" + std::to_string(i), now + 10min + std::chrono::seconds(i)));
    CHECK(small.size() == 3);
    CHECK(small.take("_r9", now).has_value());
    CHECK(small.take("_r8", now).has_value());
    CHECK(small.take("_r7", now).has_value());
    CHECK_FALSE(small.take("_r0", now).has_value());
    CHECK(small.size() == 0);
  }
}

TEST_CASE("InMemorySessionStore", "[session]") {
  const TimePoint now = t0();
  InMemorySessionStore store;
  store.put(session("s1", now, 8h));

  SECTION("touch returns the session and refreshes last_seen") {
    const auto a = store.touch("s1", now + 10min, 30min);
    REQUIRE(a.has_value());
    CHECK(a->id == "s1");
    CHECK(a->name_id == "AAdzZWNyZXQ");
    CHECK(a->attributes.size() == 1);
    CHECK(a->created == now);
    CHECK(a->last_seen == now + 10min);
    CHECK(a->expires == now + 8h);
    // 35 minutes after login, 25 after the last visit: still there.
    const auto b = store.touch("s1", now + 35min, 30min);
    REQUIRE(b.has_value());
    CHECK(b->last_seen == now + 35min);
  }
  SECTION("idle timeout removes the session") {
    CHECK_FALSE(store.touch("s1", now + 30min, 30min).has_value());
    CHECK(store.size() == 0);
    CHECK_FALSE(store.touch("s1", now + 1min, 30min).has_value());
  }
  SECTION("just within the idle timeout") {
    CHECK(store.touch("s1", now + 30min - 1ms, 30min).has_value());
  }
  SECTION("absolute timeout, even when visited regularly") {
    TimePoint t = now;
    for (int i = 0; i < 31; ++i) { // every 15 minutes for 7h45
      t += 15min;
      REQUIRE(store.touch("s1", t, 30min).has_value());
    }
    CHECK(t == now + 7h + 45min);
    CHECK(store.touch("s1", now + 8h - 1ms, 30min).has_value());
    CHECK_FALSE(store.touch("s1", now + 8h, 30min).has_value());
    CHECK(store.size() == 0);
  }
  SECTION("unknown IDs and remove") {
    CHECK_FALSE(store.touch("s2", now, 30min).has_value());
    CHECK_FALSE(store.touch("", now, 30min).has_value());
    store.remove("s1");
    CHECK_FALSE(store.touch("s1", now, 30min).has_value());
    CHECK(store.size() == 0);
    store.remove("s1"); // removing twice is harmless
    CHECK(store.size() == 0);
  }
  SECTION("expired sessions are purged from the store") {
    store.put(session("s2", now, 1h));
    store.put(session("s3", now, 2h));
    CHECK(store.size() == 3);
    CHECK_FALSE(store.touch("s2", now + 90min, 8h).has_value());
    CHECK(store.size() == 2); // s2 gone; s1 and s3 remain
    CHECK(store.touch("s3", now + 90min, 8h).has_value());
    CHECK(store.touch("s1", now + 91min, 8h).has_value());
  }
  SECTION("put replaces a session with the same ID") {
    Session s = session("s1", now, 8h);
    s.name_id = "other";
    store.put(s);
    CHECK(store.size() == 1);
    const auto got = store.touch("s1", now, 30min);
    REQUIRE(got);
    CHECK(got->name_id == "other");
  }
  SECTION("bounded") {
    InMemorySessionStore small(2);
    small.put(session("a", now, 1h));
    small.put(session("b", now, 2h));
    small.put(session("c", now, 3h));
    CHECK(small.size() == 2);
    CHECK(small.touch("c", now, 30min).has_value());
  }
}
