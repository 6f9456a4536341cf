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
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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
  std::string key; // random; the upstream RelayState and the discovery state carry it
  ReceivedAuthnRequest request;
  std::optional<int> min_trust_level; // STORK level the portal asked for
  std::string upstream_idp;           // set when the upstream request is sent
  std::string upstream_request_id;
  TimePoint created;
  TimePoint upstream_started{};
  TimePoint expires; // after this the login cannot complete; the portal gets an error
};

// Where pending portal requests wait (in memory here; Redis next). A store
// keeps an entry for a while after `expires` (the in-memory one: for
// `retain_after_expiry`), so that a late upstream answer still reaches the
// portal as a SAML error instead of a dead end.
class PendingStore {
public:
  virtual ~PendingStore() = default;
  // Stores or replaces the entry with this key.
  virtual void put(PendingPortalRequest req) = 0;
  // The entry, left in place (expired ones included while retained).
  virtual std::optional<PendingPortalRequest> get(std::string_view key, TimePoint now) const = 0;
  // Removes and returns the entry (single use; expired ones included while retained).
  virtual std::optional<PendingPortalRequest> take(std::string_view key, TimePoint now) = 0;
};

// Thread-safe, bounded (entries past retention are purged first, then the
// one expiring first is dropped when full).
class InMemoryPendingStore final : public PendingStore {
public:
  explicit InMemoryPendingStore(std::size_t max_entries = 100'000,
                                std::chrono::seconds retain_after_expiry = std::chrono::hours(1))
      : max_(max_entries), retain_(retain_after_expiry) {}
  void put(PendingPortalRequest req) override;
  std::optional<PendingPortalRequest> get(std::string_view key, TimePoint now) const override;
  std::optional<PendingPortalRequest> take(std::string_view key, TimePoint now) override;
  std::size_t size() const;

private:
  void purge_locked(TimePoint now) const;
  void erase_locked(const std::string &key) const;
  mutable std::mutex mu_;
  std::size_t max_;
  std::chrono::seconds retain_;
  mutable std::unordered_map<std::string, PendingPortalRequest> pending_;
  mutable std::multimap<TimePoint, std::string> by_expiry_;
};

// One record per proxied login (or refused portal request that reached the
// proxy's logic), for the operator's audit trail. Never personal values:
// attribute names only.
struct ProxyAuditRecord {
  std::string portal;            // the portal's entityID
  std::string portal_request_id; // its AuthnRequest ID
  std::string upstream_idp;      // empty when no upstream request was sent
  std::string upstream_request_id;
  std::optional<int> requested_level; // STORK level the portal asked for
  std::optional<int> delivered_level; // what the upstream IdP delivered
  std::optional<int> issued_level;    // what the portal got (never above delivered)
  bool success = false;
  std::string cause;                  // error code (e.g. "status_not_success", "expired"), empty on success
  std::string portal_status;          // SAML status sent to the portal (second-level code if any)
  std::vector<std::string> released;  // canonical attribute names released
  std::vector<std::string> withheld;  // canonical attribute names withheld by the release policy
  std::chrono::milliseconds total{0}; // portal request to portal response
  std::chrono::milliseconds upstream{0}; // upstream request to upstream response

  // One-line JSON object (what the log sink receives after "interkonto audit ").
  std::string to_json() const;
};

struct ProxyConfig {
  explicit ProxyConfig(IdpConfig idp_config) : idp(std::move(idp_config)) {}

  IdpConfig idp;                       // toward the portals (idp.sps: their SP metadata)
  std::string sso_path = "/proxy/sso"; // local path of idp.sso_url
  std::string idp_metadata_path = "/proxy/idp/metadata";
  // Toward the upstream IdPs: acs_path, metadata_path and login_path (where
  // the discovery page continues: set DiscoveryConfig::login_path to it) are
  // served by the proxy; sp.discovery, when set, is served too and shown
  // when the portal's request names no IdP (no hint, no remembered choice,
  // no single IDPList entry); without it sp.default_idp is used.
  SpConfig sp;
  std::optional<AttributeMap> attributes; // nullopt: builtin:servicekonto
  std::chrono::seconds pending_lifetime{600};
  std::string continue_path = "/proxy/continue"; // return_to carrying the pending key through discovery
  // ProxyCount sent upstream: the portal's ProxyCount - 1 when it sent one,
  // never more than this (loop protection).
  unsigned upstream_proxy_count = 1;
  // Ask the upstream IdP (AKDB extension) for the attributes the portal requested.
  bool forward_requested_attributes = true;
  // Receives the audit record too (the log sink always does, at info).
  std::function<void(const ProxyAuditRecord &)> audit;
};

class Proxy {
public:
  Proxy(ProxyConfig config, std::shared_ptr<PendingStore> pending, std::shared_ptr<SessionStore> sessions,
        std::shared_ptr<RequestTracker> tracker, std::shared_ptr<ReplayCache> replay,
        std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  ~Proxy();
  Proxy(const Proxy &) = delete;
  Proxy &operator=(const Proxy &) = delete;

  // Routes: sso_path (GET Redirect / POST), sp.login_path (GET, from
  // discovery), sp.acs_path (POST), the discovery routes, both metadata
  // documents; anything else is a 404. Thread-safe.
  HttpResponse handle(const HttpRequest &req) const;

  const IdentityProvider &idp() const;
  const ServiceProvider &sp() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The SAML status (top-level, second-level) the proxy sends a portal for a
// failed upstream login: the upstream IdP's own second-level code when it is
// one a portal can act on (AuthnFailed, NoAuthnContext, NoPassive,
// RequestDenied, UnknownPrincipal, ...), NoAuthnContext for a trust level
// below the minimum, AuthnFailed for anything else.
std::pair<std::string_view, std::string_view> proxy_status_for(ErrorCode code,
                                                               const std::optional<SamlStatus> &upstream);

} // namespace interkonto
