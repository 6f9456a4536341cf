// SPDX-License-Identifier: EUPL-1.2
#pragma once
// The IdP/SP proxy (FINK dipole model): an IdP toward the local portals and
// an SP toward the upstream IdPs of the federation. A portal's AuthnRequest
// is kept in a pending store, the citizen logs in upstream, the upstream
// Response is checked with every SP check, its attributes are mapped to the
// canonical set, released per portal, mapped to the portal's vocabulary and
// sent to the portal in a new assertion whose trust level is never higher
// than the upstream one. Sans-I/O: one HttpRequest in, one HttpResponse out.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "interkonto/attributes.hpp"
#include "interkonto/clock.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/log.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"

namespace interkonto {

// A portal's AuthnRequest waiting for the upstream login.
struct PendingPortalRequest {
  std::string key; // random, travels in the upstream login's return_to
  ReceivedAuthnRequest request;
  std::optional<int> min_trust_level; // STORK level the portal asked for
  std::string upstream_idp;
  TimePoint created;
  TimePoint expires;
};

// Where pending portal requests wait (in memory here; Redis next).
class PendingStore {
public:
  virtual ~PendingStore() = default;
  virtual void put(PendingPortalRequest req) = 0;
  // Removes and returns the request (single use). nullopt if unknown or expired.
  virtual std::optional<PendingPortalRequest> take(std::string_view key, TimePoint now) = 0;
};

// Thread-safe, bounded (expired entries are purged first, then the oldest
// to expire is dropped when full).
class InMemoryPendingStore final : public PendingStore {
public:
  explicit InMemoryPendingStore(std::size_t max_entries = 100'000) : max_(max_entries) {}
  void put(PendingPortalRequest req) override;
  std::optional<PendingPortalRequest> take(std::string_view key, TimePoint now) override;
  std::size_t size() const;

private:
  void purge_locked(TimePoint now);
  mutable std::mutex mu_;
  std::size_t max_;
  std::unordered_map<std::string, PendingPortalRequest> pending_;
  std::multimap<TimePoint, std::string> by_expiry_;
};

struct ProxyConfig {
  explicit ProxyConfig(IdpConfig idp_config) : idp(std::move(idp_config)) {}

  IdpConfig idp;                       // toward the portals (idp.sps: their SP metadata)
  std::string sso_path = "/proxy/sso"; // local path of idp.sso_url
  std::string idp_metadata_path = "/proxy/idp/metadata";
  SpConfig sp;                            // toward the upstream IdPs (acs_path, metadata_path)
  std::optional<AttributeMap> attributes; // nullopt: builtin:servicekonto
  std::chrono::seconds pending_lifetime{600};
  std::string continue_path = "/proxy/continue"; // return_to of the upstream login (carries the key)
};

class Proxy {
public:
  Proxy(ProxyConfig config, std::shared_ptr<PendingStore> pending, std::shared_ptr<SessionStore> sessions,
        std::shared_ptr<RequestTracker> tracker, std::shared_ptr<ReplayCache> replay,
        std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  ~Proxy();
  Proxy(const Proxy &) = delete;
  Proxy &operator=(const Proxy &) = delete;

  // Routes: sso_path (GET Redirect / POST), sp.acs_path (POST), both metadata
  // documents; anything else is a 404.
  HttpResponse handle(const HttpRequest &req) const;

  const IdentityProvider &idp() const;
  const ServiceProvider &sp() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace interkonto
