// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Stores behind small interfaces: sessions, outstanding requests and the
// replay cache. The in-memory implementations are thread-safe and bounded;
// a Redis implementation shares them between nodes.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "interkonto/clock.hpp"

namespace interkonto {

// A 128-bit random identifier, base64url without padding (22 chars), from
// the OS CSPRNG. Used for session IDs, request IDs ("_" prefixed) and
// binding cookies.
std::string random_id();

// Assertion IDs seen, kept until the assertion expires.
class ReplayCache {
public:
  virtual ~ReplayCache() = default;
  // Records (issuer, id) until `expires`. Returns false if it was already
  // there (a replay). Atomic.
  virtual bool insert(std::string_view issuer, std::string_view id, TimePoint expires, TimePoint now) = 0;
};

// AuthnRequests this SP sent and that are still waiting for their response.
struct PendingRequest {
  std::string request_id;
  std::string idp_entity_id;
  std::string browser_binding; // value of the short-lived binding cookie
  std::string relay_state;     // opaque value sent along, checked on return
  std::string return_to;       // local path or allow-listed URL
  std::optional<int> min_trust_level;
  TimePoint expires;
};

class RequestTracker {
public:
  virtual ~RequestTracker() = default;
  virtual void put(PendingRequest req) = 0;
  // Removes and returns the request (single use). nullopt if unknown or expired.
  virtual std::optional<PendingRequest> take(std::string_view request_id, TimePoint now) = 0;
};

struct Session {
  std::string id;
  std::string idp_entity_id;
  std::string name_id;
  std::string name_id_format;
  std::string session_index;
  std::string authn_context_class_ref;
  std::vector<std::string> authenticating_authorities; // behind a proxy: where the login happened
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;
  TimePoint created;
  TimePoint last_seen;
  TimePoint expires; // absolute
};

class SessionStore {
public:
  virtual ~SessionStore() = default;
  virtual void put(const Session &s) = 0;
  // Returns the session and refreshes last_seen, unless idle/absolute
  // timeout has passed (then it is removed).
  virtual std::optional<Session> touch(std::string_view id, TimePoint now,
                                       std::chrono::seconds idle_timeout) = 0;
  virtual void remove(std::string_view id) = 0;
};

// ---- in-memory implementations (thread-safe, bounded) ----

class InMemoryReplayCache final : public ReplayCache {
public:
  explicit InMemoryReplayCache(std::size_t max_entries = 1'000'000) : max_(max_entries) {}
  bool insert(std::string_view issuer, std::string_view id, TimePoint expires, TimePoint now) override;
  std::size_t size() const;

private:
  void purge_locked(TimePoint now);
  mutable std::mutex mu_;
  std::size_t max_;
  std::unordered_map<std::string, TimePoint> seen_;
  std::multimap<TimePoint, std::string> by_expiry_;
};

class InMemoryRequestTracker final : public RequestTracker {
public:
  explicit InMemoryRequestTracker(std::size_t max_entries = 100'000) : max_(max_entries) {}
  void put(PendingRequest req) override;
  std::optional<PendingRequest> take(std::string_view request_id, TimePoint now) override;
  std::size_t size() const;

private:
  void purge_locked(TimePoint now);
  mutable std::mutex mu_;
  std::size_t max_;
  std::unordered_map<std::string, PendingRequest> pending_;
  std::multimap<TimePoint, std::string> by_expiry_;
};

class InMemorySessionStore final : public SessionStore {
public:
  explicit InMemorySessionStore(std::size_t max_entries = 100'000) : max_(max_entries) {}
  void put(const Session &s) override;
  std::optional<Session> touch(std::string_view id, TimePoint now,
                               std::chrono::seconds idle_timeout) override;
  void remove(std::string_view id) override;
  std::size_t size() const;

private:
  void purge_locked(TimePoint now);
  mutable std::mutex mu_;
  std::size_t max_;
  std::unordered_map<std::string, Session> sessions_;
  std::multimap<TimePoint, std::string> by_expiry_;
};

} // namespace interkonto
