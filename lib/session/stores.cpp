// SPDX-License-Identifier: EUPL-1.2
#include <openssl/rand.h>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/session.hpp"
#include "session/expiry_index.hpp"

namespace interkonto {

std::string random_id() {
  unsigned char buf[16];
  if (RAND_bytes(buf, sizeof buf) != 1) throw Error(ErrorCode::internal, "random number generator failed");
  return base64url_encode_nopad(std::string_view(reinterpret_cast<const char *>(buf), sizeof buf));
}

// ---- replay cache ----

void InMemoryReplayCache::purge_locked(TimePoint now) {
  expiry::purge_expired(seen_, by_expiry_, now);
}

bool InMemoryReplayCache::insert(std::string_view issuer, std::string_view id, TimePoint expires,
                                 TimePoint now) {
  std::string key;
  key.reserve(issuer.size() + id.size() + 1);
  key.append(issuer).push_back('\n');
  key.append(id);
  std::lock_guard lock(mu_);
  purge_locked(now);
  if (seen_.contains(key)) return false;
  // When full, the cache refuses new assertions rather than forgetting
  // unexpired ones (forgetting would re-open replays).
  if (seen_.size() >= max_) throw Error(ErrorCode::internal, "replay cache full");
  seen_.emplace(key, expires);
  by_expiry_.emplace(expires, std::move(key));
  return true;
}

std::size_t InMemoryReplayCache::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

// ---- request tracker ----

void InMemoryRequestTracker::purge_locked(TimePoint now) {
  expiry::purge_expired(pending_, by_expiry_, now);
}

void InMemoryRequestTracker::put(PendingRequest req) {
  std::lock_guard lock(mu_);
  // Bounded: the oldest outstanding request makes room (a browser that never
  // came back).
  while (pending_.size() >= max_) expiry::drop_oldest(pending_, by_expiry_);
  const TimePoint exp = req.expires;
  std::string id = req.request_id;
  pending_[id] = std::move(req);
  by_expiry_.emplace(exp, std::move(id));
}

std::optional<PendingRequest> InMemoryRequestTracker::take(std::string_view request_id, TimePoint now) {
  std::lock_guard lock(mu_);
  purge_locked(now);
  auto it = pending_.find(std::string(request_id));
  if (it == pending_.end()) return std::nullopt;
  PendingRequest req = std::move(it->second);
  pending_.erase(it);
  if (req.expires <= now) return std::nullopt;
  return req;
}

std::size_t InMemoryRequestTracker::size() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

// ---- sessions ----

void InMemorySessionStore::purge_locked(TimePoint now) {
  expiry::purge_expired(sessions_, by_expiry_, now);
}

void InMemorySessionStore::put(const Session &s) {
  std::lock_guard lock(mu_);
  while (sessions_.size() >= max_ && !sessions_.contains(s.id)) expiry::drop_oldest(sessions_, by_expiry_);
  sessions_[s.id] = s;
  by_expiry_.emplace(s.expires, s.id);
}

std::optional<Session> InMemorySessionStore::touch(std::string_view id, TimePoint now,
                                                   std::chrono::seconds idle_timeout) {
  std::lock_guard lock(mu_);
  purge_locked(now);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end()) return std::nullopt;
  Session &s = it->second;
  if (now >= s.expires || now - s.last_seen >= idle_timeout) {
    sessions_.erase(it);
    return std::nullopt;
  }
  s.last_seen = now;
  return s;
}

void InMemorySessionStore::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  sessions_.erase(std::string(id));
}

std::size_t InMemorySessionStore::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

} // namespace interkonto
