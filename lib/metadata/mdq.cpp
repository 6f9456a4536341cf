// SPDX-License-Identifier: EUPL-1.2
// MDQ (SAML metadata query protocol) client: per-entity lookups at
// {base}/entities/{id}, each answer a signed EntityDescriptor verified with
// the pinned keys, cached by cacheDuration/validUntil, "not found" cached for
// a while.

#include "interkonto/metadata_provider.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <utility>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

// ------------------------------------------------------------ MDQ client

struct MdqClient::Impl {
  struct Entry {
    EntityPtr entity; // nullptr: the server does not know it (negative entry)
    TimePoint expires;
    std::uint64_t seq = 0;
  };

  MdqConfig config;
  std::shared_ptr<const Clock> clock;
  LogSink log;
  std::string entities_url; // base + "entities/"

  mutable std::mutex mutex;
  std::unordered_map<std::string, Entry> cache; // by entityID
  std::map<std::uint64_t, std::string> order;   // insertion order, for eviction
  std::uint64_t next_seq = 0;
  std::atomic<std::size_t> fetches{0};

  void emit(LogLevel level, const std::string &msg) const {
    if (log) log(level, msg);
  }

  // Looks up a fresh cache entry; drops an expired one. Caller holds mutex.
  const Entry *cached(const std::string &id, TimePoint now) {
    auto it = cache.find(id);
    if (it == cache.end()) return nullptr;
    if (now < it->second.expires) return &it->second;
    order.erase(it->second.seq);
    cache.erase(it);
    return nullptr;
  }

  void store(const std::string &id, EntityPtr entity, TimePoint expires) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(id); it != cache.end()) {
      order.erase(it->second.seq);
      cache.erase(it);
    }
    const std::uint64_t seq = next_seq++;
    cache.emplace(id, Entry{std::move(entity), expires, seq});
    order.emplace(seq, id);
    while (cache.size() > config.max_entries && !order.empty()) {
      cache.erase(order.begin()->second);
      order.erase(order.begin());
    }
  }

  std::string url_for(std::string_view entity_id) const {
    // The whole identifier is percent-encoded (MDQ): "{sha1}" becomes
    // "%7Bsha1%7D"; servers decode the path before matching.
    if (config.use_sha1) return entities_url + url_encode("{sha1}" + entity_id_sha1_hex(entity_id));
    return entities_url + url_encode(entity_id);
  }

  TimePoint expiry_for(const MetadataSnapshot &snap, const Entity &e, TimePoint now) const {
    std::chrono::seconds ttl = config.max_cache;
    if (e.cache_duration)
      ttl = *e.cache_duration;
    else if (snap.cache_duration())
      ttl = *snap.cache_duration();
    ttl = std::clamp(ttl, config.min_cache, std::max(config.min_cache, config.max_cache));
    TimePoint expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
    if (e.valid_until) expires = std::min(expires, *e.valid_until);
    if (snap.valid_until()) expires = std::min(expires, *snap.valid_until());
    return expires;
  }
};

MdqClient::MdqClient(MdqConfig config, std::shared_ptr<const Clock> clock, LogSink log)
    : impl_(std::make_unique<Impl>()) {
  if (config.base_url.empty()) throw Error(ErrorCode::config_invalid, "MDQ: empty base URL");
  if (config.max_entries == 0) throw Error(ErrorCode::config_invalid, "MDQ: max_entries must be positive");
  impl_->entities_url = config.base_url;
  if (impl_->entities_url.back() != '/') impl_->entities_url.push_back('/');
  impl_->entities_url += "entities/";
  impl_->config = std::move(config);
  impl_->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
  impl_->log = std::move(log);
}

MdqClient::~MdqClient() = default;

EntityPtr MdqClient::lookup(std::string_view entity_id) {
  Impl &m = *impl_;
  const std::string id(entity_id);
  {
    const std::lock_guard<std::mutex> lock(m.mutex);
    if (const auto *hit = m.cached(id, m.clock->now())) return hit->entity;
  }

  // Never fetch while holding the lock: concurrent misses may fetch twice.
  const std::string url = m.url_for(entity_id);
  m.fetches.fetch_add(1, std::memory_order_relaxed);
  m.emit(LogLevel::debug, fmt::format("MDQ: GET {}", url));
  const HttpResponseData resp = http_get(url, m.config.http, {{"Accept", "application/samlmetadata+xml"}});
  const TimePoint now = m.clock->now();

  if (resp.status == 404) {
    m.emit(LogLevel::info, fmt::format("MDQ: {} not known to the server", id));
    m.store(id, nullptr, now + std::chrono::duration_cast<std::chrono::milliseconds>(m.config.negative_ttl));
    return nullptr;
  }
  if (resp.status != 200)
    throw Error(ErrorCode::config_invalid, fmt::format("MDQ: {} answered HTTP {}", url, resp.status));

  // Signature, algorithms, validUntil: refused as a whole when wrong.
  const SnapshotPtr snap = load_aggregate(resp.body, m.config.trust, now, {}, m.log);
  const auto &entities = snap->entities();
  if (entities.empty() && !snap->skipped().empty())
    throw Error(ErrorCode::untrusted_metadata,
                fmt::format("MDQ: answer for {} not usable: {}", id, snap->skipped().front()));
  if (entities.size() != 1 || entities.front()->entity_id != id)
    throw Error(ErrorCode::wrapping,
                fmt::format("MDQ: answer for {} does not describe exactly that entity", id));
  EntityPtr entity = entities.front();
  m.store(id, entity, m.expiry_for(*snap, *entity, now));
  return entity;
}

std::size_t MdqClient::cache_size() const {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->cache.size();
}

std::size_t MdqClient::fetches() const {
  return impl_->fetches.load(std::memory_order_relaxed);
}

} // namespace interkonto
