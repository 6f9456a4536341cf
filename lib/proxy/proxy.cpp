// SPDX-License-Identifier: EUPL-1.2
// The IdP/SP proxy: portal request -> upstream login -> portal response.

#include "interkonto/proxy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "interkonto/error.hpp"

namespace interkonto {

// ------------------------------------------------------------ pending store

void InMemoryPendingStore::purge_locked(TimePoint now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    pending_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

void InMemoryPendingStore::put(PendingPortalRequest req) {
  const std::lock_guard<std::mutex> lock(mu_);
  purge_locked(req.created);
  if (max_ == 0) return;
  if (pending_.contains(req.key)) return; // keys are random: never overwrite
  while (pending_.size() >= max_ && !by_expiry_.empty()) {
    pending_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  by_expiry_.emplace(req.expires, req.key);
  std::string key = req.key;
  pending_.emplace(std::move(key), std::move(req));
}

std::optional<PendingPortalRequest> InMemoryPendingStore::take(std::string_view key, TimePoint now) {
  const std::lock_guard<std::mutex> lock(mu_);
  purge_locked(now);
  const auto it = pending_.find(std::string(key));
  if (it == pending_.end()) return std::nullopt;
  PendingPortalRequest out = std::move(it->second);
  pending_.erase(it);
  const auto range = by_expiry_.equal_range(out.expires);
  for (auto e = range.first; e != range.second; ++e)
    if (e->second == out.key) {
      by_expiry_.erase(e);
      break;
    }
  if (out.expires <= now) return std::nullopt;
  return out;
}

std::size_t InMemoryPendingStore::size() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

// ------------------------------------------------------------------ proxy

namespace {

// The return_to of the upstream request the ServiceProvider consumed while
// handling the current ACS call on this thread (handle_acs is synchronous).
thread_local std::optional<std::string> t_taken_return_to;

// Records what the SP's ACS takes, so that an upstream failure can still be
// answered to the right portal.
class CapturingTracker final : public RequestTracker {
public:
  explicit CapturingTracker(std::shared_ptr<RequestTracker> inner) : inner_(std::move(inner)) {}
  void put(PendingRequest req) override { inner_->put(std::move(req)); }
  std::optional<PendingRequest> take(std::string_view request_id, TimePoint now) override {
    auto p = inner_->take(request_id, now);
    if (p) t_taken_return_to = p->return_to;
    return p;
  }

private:
  std::shared_ptr<RequestTracker> inner_;
};

HttpResponse error_page(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "text/plain; charset=utf-8");
  r.set_header("Cache-Control", "no-store");
  r.body = std::string(message);
  return r;
}

// The lowest STORK level among the requested class refs (Comparison minimum / exact).
std::optional<int> requested_min_level(const ReceivedAuthnRequest &req) {
  std::optional<int> out;
  for (const auto &ref : req.requested_class_refs)
    if (const auto l = parse_stork_level(ref)) out = out ? std::min(*out, *l) : *l;
  return out;
}

} // namespace

struct Proxy::Impl {
  ProxyConfig cfg;
  std::shared_ptr<PendingStore> pending;
  std::shared_ptr<const Clock> clock;
  LogSink log;
  AttributeMap attributes;
  IdentityProvider idp;
  ServiceProvider sp;

  Impl(ProxyConfig c, std::shared_ptr<PendingStore> p, std::shared_ptr<SessionStore> sessions,
       std::shared_ptr<RequestTracker> tracker, std::shared_ptr<ReplayCache> replay,
       std::shared_ptr<const Clock> clk, LogSink lg)
      : cfg(std::move(c)), pending(std::move(p)),
        clock(clk ? std::move(clk) : std::make_shared<SystemClock>()), log(std::move(lg)),
        attributes(cfg.attributes ? *cfg.attributes : AttributeMap::builtin("servicekonto")),
        idp(cfg.idp, clock),
        sp(cfg.sp, std::move(sessions), std::make_shared<CapturingTracker>(std::move(tracker)),
           std::move(replay), clock, log) {
    if (!pending) throw Error(ErrorCode::config_invalid, "proxy: no pending store");
  }

  void note(LogLevel level, const std::string &msg) const {
    if (log) log(level, msg);
  }

  HttpResponse handle_sso(const HttpRequest &req) const;
  HttpResponse handle_acs(const HttpRequest &req) const;
  HttpResponse answer_error(const PendingPortalRequest &p, std::string_view second_level,
                            const std::string &cause) const;
};

HttpResponse Proxy::Impl::answer_error(const PendingPortalRequest &p, std::string_view second_level,
                                       const std::string &cause) const {
  note(LogLevel::warning, fmt::format("interkonto proxy: login for {} (request {}) failed: {}",
                                      p.request.issuer, p.request.id, cause));
  return idp.post_response(p.request, idp.build_error_response(p.request, status::responder, second_level));
}

HttpResponse Proxy::Impl::handle_sso(const HttpRequest &req) const {
  ReceivedAuthnRequest portal_req;
  try {
    portal_req = idp.receive_authn_request(req);
  } catch (const Error &e) {
    note(LogLevel::warning,
         fmt::format("interkonto proxy: portal request refused: {}: {}", to_string(e.code()), e.detail()));
    return error_page(400, e.citizen_message());
  }
  const TimePoint now = clock->now();
  PendingPortalRequest p;
  p.key = random_id();
  p.min_trust_level = requested_min_level(portal_req);
  p.created = now;
  p.expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(cfg.pending_lifetime);
  p.request = std::move(portal_req);

  LoginOptions opt;
  opt.return_to = cfg.continue_path + "?key=" + p.key;
  std::optional<std::string> hint = req.method == "POST" ? req.form_param("idp") : req.query_param("idp");
  if (hint && !hint->empty()) opt.idp_entity_id = *hint;
  if (p.request.force_authn) opt.force_authn = true;
  if (p.request.is_passive) opt.is_passive = true;
  opt.min_trust_level = p.min_trust_level;
  p.upstream_idp = opt.idp_entity_id.value_or(cfg.sp.default_idp);

  HttpResponse upstream;
  try {
    upstream = sp.start_login(opt);
  } catch (const Error &e) {
    return answer_error(p, status::no_supported_idp,
                        fmt::format("upstream login not started: {}: {}", to_string(e.code()), e.detail()));
  }
  pending->put(std::move(p));
  return upstream;
}

HttpResponse Proxy::Impl::handle_acs(const HttpRequest &req) const {
  t_taken_return_to.reset();
  AcsOutcome out = sp.handle_acs(req);
  std::optional<std::string> return_to = std::move(t_taken_return_to);
  t_taken_return_to.reset();

  std::optional<PendingPortalRequest> p;
  const std::string prefix = cfg.continue_path + "?key=";
  if (return_to && return_to->starts_with(prefix))
    p = pending->take(std::string_view(*return_to).substr(prefix.size()), clock->now());

  if (!p) {
    if (out.error)
      note(LogLevel::warning,
           fmt::format("interkonto proxy: upstream response refused, no portal request: {}: {}",
                       to_string(out.error->code()), out.error->detail()));
    else
      note(LogLevel::warning, "interkonto proxy: upstream login without a pending portal request (expired?)");
    return error_page(out.error ? 403 : 400, out.error
                                                 ? out.error->citizen_message()
                                                 : "Die Anmeldung ist abgelaufen. Bitte erneut versuchen.");
  }
  if (out.error) {
    const ErrorCode code = out.error->code();
    const std::string_view second =
        code == ErrorCode::authn_context_insufficient ? status::no_authn_context : status::authn_failed;
    return answer_error(*p, second, fmt::format("upstream: {}: {}", to_string(code), out.error->detail()));
  }
  if (!out.result) return answer_error(*p, status::authn_failed, "upstream: no result");
  const AuthnResult &res = *out.result;

  try {
    const int level = effective_trust_level(res);
    if (p->min_trust_level && level < *p->min_trust_level)
      throw Error(ErrorCode::authn_context_insufficient, "upstream level below the portal's minimum");
    const MappedAttributes mapped = attributes.map_inbound(res, log);
    std::vector<std::string> requested;
    for (const auto &ra : p->request.requested_attributes)
      if (auto n = attributes.canonical_name(ra.name, res.issuer)) requested.push_back(std::move(*n));
    const ReleaseResult released = attributes.release(mapped, p->request.issuer, requested);

    AuthenticatedSubject subject;
    if (level > 0) subject.authn_context_class_ref = stork_level_uri(level);
    subject.stable_key = res.issuer + "!" + res.name_id;
    subject.session_index = random_id();
    for (const auto &a : attributes.map_outbound(released.attributes))
      subject.attributes.push_back({a.name, a.values, a.friendly_name, a.trust_level});

    HttpResponse r = idp.post_response(p->request, idp.build_response(p->request, subject));
    // Clear the upstream request cookie; the proxy keeps no SP session for the browser.
    for (const auto &[name, value] : out.response.headers)
      if (name == "Set-Cookie" && value.starts_with(cfg.sp.request_cookie_name)) r.add_header(name, value);
    note(LogLevel::info,
         fmt::format("interkonto proxy: login for {} (request {}) via {} answered, level {} (asked {}), "
                     "{} attribute(s) released, {} withheld",
                     p->request.issuer, p->request.id, res.issuer, level, p->min_trust_level.value_or(0),
                     released.attributes.attributes.size(), released.withheld.size()));
    return r;
  } catch (const Error &e) {
    const std::string_view second =
        e.code() == ErrorCode::authn_context_insufficient ? status::no_authn_context : status::authn_failed;
    return answer_error(*p, second, fmt::format("{}: {}", to_string(e.code()), e.detail()));
  }
}

Proxy::Proxy(ProxyConfig config, std::shared_ptr<PendingStore> pending,
             std::shared_ptr<SessionStore> sessions, std::shared_ptr<RequestTracker> tracker,
             std::shared_ptr<ReplayCache> replay, std::shared_ptr<const Clock> clock, LogSink log)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(pending), std::move(sessions),
                                   std::move(tracker), std::move(replay), std::move(clock), std::move(log))) {
}

Proxy::~Proxy() = default;

const IdentityProvider &Proxy::idp() const {
  return impl_->idp;
}
const ServiceProvider &Proxy::sp() const {
  return impl_->sp;
}

HttpResponse Proxy::handle(const HttpRequest &req) const {
  const ProxyConfig &c = impl_->cfg;
  if (req.path == c.sso_path) {
    if (req.method != "GET" && req.method != "POST") return error_page(405, "Method not allowed");
    return impl_->handle_sso(req);
  }
  if (req.path == c.sp.acs_path) {
    if (req.method != "POST") return error_page(405, "Method not allowed");
    return impl_->handle_acs(req);
  }
  if (req.path == c.sp.metadata_path) return impl_->sp.handle_metadata();
  if (req.path == c.idp_metadata_path) {
    HttpResponse r;
    r.set_header("Content-Type", "application/samlmetadata+xml");
    r.body = impl_->idp.metadata_xml();
    return r;
  }
  return error_page(404, "Not found");
}

} // namespace interkonto
