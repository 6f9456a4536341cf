// SPDX-License-Identifier: EUPL-1.2
// The IdP/SP proxy: portal request -> upstream login -> portal response.

#include "interkonto/proxy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "interkonto/bindings.hpp"
#include "interkonto/discovery.hpp"
#include "interkonto/error.hpp"
#include "session/expiry_index.hpp"

namespace interkonto {

// ------------------------------------------------------------ pending store

void InMemoryPendingStore::erase_locked(const std::string &key) const {
  const auto it = pending_.find(key);
  if (it == pending_.end()) return;
  const auto range = by_expiry_.equal_range(it->second.expires);
  for (auto e = range.first; e != range.second; ++e)
    if (e->second == key) {
      by_expiry_.erase(e);
      break;
    }
  pending_.erase(it);
}

void InMemoryPendingStore::purge_locked(TimePoint now) const {
  // Entries stay retrievable for `retain_` after they expire.
  expiry::purge_expired(pending_, by_expiry_,
                        now - std::chrono::duration_cast<std::chrono::milliseconds>(retain_));
}

void InMemoryPendingStore::put(PendingPortalRequest req) {
  const std::lock_guard<std::mutex> lock(mu_);
  purge_locked(req.created > req.upstream_started ? req.created : req.upstream_started);
  if (max_ == 0) return;
  erase_locked(req.key); // replace
  while (pending_.size() >= max_ && !by_expiry_.empty()) expiry::drop_oldest(pending_, by_expiry_);
  by_expiry_.emplace(req.expires, req.key);
  std::string key = req.key;
  pending_.emplace(std::move(key), std::move(req));
}

std::optional<PendingPortalRequest> InMemoryPendingStore::get(std::string_view key, TimePoint now) const {
  const std::lock_guard<std::mutex> lock(mu_);
  purge_locked(now);
  const auto it = pending_.find(std::string(key));
  if (it == pending_.end()) return std::nullopt;
  return it->second;
}

std::optional<PendingPortalRequest> InMemoryPendingStore::take(std::string_view key, TimePoint now) {
  const std::lock_guard<std::mutex> lock(mu_);
  purge_locked(now);
  const auto it = pending_.find(std::string(key));
  if (it == pending_.end()) return std::nullopt;
  PendingPortalRequest out = std::move(it->second);
  erase_locked(out.key);
  return out;
}

std::size_t InMemoryPendingStore::size() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

// ------------------------------------------------------------ audit record

std::string ProxyAuditRecord::to_json() const {
  nlohmann::ordered_json j;
  j["event"] = "proxy_login";
  j["result"] = success ? "success" : "error";
  if (!cause.empty()) j["cause"] = cause;
  j["portal"] = portal;
  j["portal_request"] = portal_request_id;
  if (!upstream_idp.empty()) j["upstream_idp"] = upstream_idp;
  if (!upstream_request_id.empty()) j["upstream_request"] = upstream_request_id;
  auto level = [](const std::optional<int> &l) -> nlohmann::ordered_json {
    if (!l) return nullptr;
    return *l;
  };
  j["requested_level"] = level(requested_level);
  j["delivered_level"] = level(delivered_level);
  j["issued_level"] = level(issued_level);
  if (!portal_status.empty()) j["portal_status"] = portal_status;
  j["released"] = released;
  j["withheld"] = withheld;
  j["total_ms"] = total.count();
  j["upstream_ms"] = upstream.count();
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// ---------------------------------------------------------- status mapping

std::pair<std::string_view, std::string_view> proxy_status_for(ErrorCode code,
                                                               const std::optional<SamlStatus> &upstream) {
  if (code == ErrorCode::status_not_success && upstream) {
    // Second-level codes a portal can act on pass through as they are.
    for (const std::string_view s :
         {status::authn_failed, status::no_authn_context, status::no_passive, status::request_denied,
          status::unknown_principal, status::no_available_idp, status::proxy_count_exceeded,
          status::invalid_name_id_policy})
      if (upstream->second_level == s) return {status::responder, s};
    return {status::responder, status::authn_failed};
  }
  switch (code) {
  case ErrorCode::authn_context_insufficient:
    return {status::responder, status::no_authn_context};
  case ErrorCode::attribute_missing:
    return {status::responder, status::request_denied};
  default:
    return {status::responder, status::authn_failed};
  }
}

// ------------------------------------------------------------------ proxy

namespace {

std::string esc(std::string_view s) {
  return html_escape(s);
}

HttpResponse error_page(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Cache-Control", "no-store");
  r.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.body = fmt::format("<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                       "<title>Anmeldung nicht möglich</title></head>\n<body><main>\n"
                       "<h1>Anmeldung nicht möglich</h1>\n<p>{}</p>\n</main></body></html>\n",
                       esc(message));
  return r;
}

constexpr std::string_view kExpiredMessage =
    "Die Anmeldung ist abgelaufen oder wurde bereits abgeschlossen. Bitte starten Sie sie beim "
    "Online-Dienst erneut.";

std::chrono::milliseconds since(TimePoint from, TimePoint to) {
  if (from.time_since_epoch().count() == 0 || to < from) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from);
}

std::string short_status(std::string_view uri) {
  const auto pos = uri.rfind(':');
  return std::string(pos == std::string_view::npos ? uri : uri.substr(pos + 1));
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
        sp(cfg.sp, std::move(sessions), std::move(tracker), std::move(replay), clock, log) {
    if (!pending) throw Error(ErrorCode::config_invalid, "proxy: no pending store");
    if (cfg.idp.entity_id == cfg.sp.entity_id)
      throw Error(ErrorCode::config_invalid, "proxy: the IdP and SP sides need different entityIDs");
  }

  void note(LogLevel level, const std::string &msg) const {
    if (log) log(level, msg);
  }
  std::string continue_prefix() const { return cfg.continue_path + "?key="; }
  // The canonical name of an attribute a portal requested (in the portal's,
  // i.e. the outbound, vocabulary; else any inbound spelling).
  std::optional<std::string> canonical_requested(std::string_view name) const {
    auto n = attributes.canonical_from_outbound(name);
    return n ? n : attributes.canonical_name(name);
  }

  void audit(ProxyAuditRecord rec) const {
    note(LogLevel::info, "interkonto audit " + rec.to_json());
    if (cfg.audit) cfg.audit(rec);
  }
  ProxyAuditRecord record_for(const PendingPortalRequest &p) const {
    ProxyAuditRecord a;
    a.portal = p.request.issuer;
    a.portal_request_id = p.request.id;
    a.upstream_idp = p.upstream_idp;
    a.upstream_request_id = p.upstream_request_id;
    a.requested_level = p.min_trust_level;
    a.total = since(p.created, clock->now());
    return a;
  }

  HttpResponse handle_sso(const HttpRequest &req) const;
  HttpResponse handle_login(const HttpRequest &req) const;
  HttpResponse handle_acs(const HttpRequest &req) const;
  HttpResponse start_upstream(PendingPortalRequest p, const std::string &upstream_idp) const;
  HttpResponse answer_error(const PendingPortalRequest &p, std::string_view top, std::string_view second,
                            const std::string &cause_code, const std::string &detail,
                            ProxyAuditRecord rec) const;
};

HttpResponse Proxy::Impl::answer_error(const PendingPortalRequest &p, std::string_view top,
                                       std::string_view second, const std::string &cause_code,
                                       const std::string &detail, ProxyAuditRecord rec) const {
  note(LogLevel::warning, fmt::format("interkonto proxy: login for {} (request {}) failed: {}: {}",
                                      p.request.issuer, p.request.id, cause_code, detail));
  rec.success = false;
  rec.cause = cause_code;
  rec.portal_status = short_status(second.empty() ? top : second);
  audit(std::move(rec));
  return idp.post_response(p.request, idp.build_error_response(p.request, top, second));
}

HttpResponse Proxy::Impl::start_upstream(PendingPortalRequest p, const std::string &upstream_idp) const {
  const ReceivedAuthnRequest &r = p.request;
  // Never ask ourselves (our own IdP is in the federation metadata too).
  if (upstream_idp == cfg.idp.entity_id || upstream_idp == cfg.sp.entity_id) {
    pending->take(p.key, clock->now());
    return answer_error(p, status::responder, status::no_supported_idp, "loop",
                        "the chosen upstream IdP is this proxy itself", record_for(p));
  }
  if (!r.idp_list.empty() &&
      std::find(r.idp_list.begin(), r.idp_list.end(), upstream_idp) == r.idp_list.end()) {
    pending->take(p.key, clock->now());
    return answer_error(p, status::responder, status::no_supported_idp, "idp_not_in_scoping",
                        fmt::format("{} is not in the portal's IDPList", upstream_idp), record_for(p));
  }
  if (!sp.validator().idp(upstream_idp)) {
    pending->take(p.key, clock->now());
    return answer_error(p, status::responder, status::no_supported_idp, "unknown_upstream_idp",
                        fmt::format("{} is not a trusted IdP", upstream_idp), record_for(p));
  }

  LoginOptions opt;
  opt.return_to = "/";
  opt.relay_state = p.key;
  opt.idp_entity_id = upstream_idp;
  if (r.force_authn) opt.force_authn = true;
  if (r.is_passive) opt.is_passive = true;
  opt.min_trust_level = p.min_trust_level;
  unsigned count = cfg.upstream_proxy_count;
  if (r.proxy_count) count = std::min(count, *r.proxy_count - 1); // the SSO refused 0 already
  opt.proxy_count = count;
  opt.requester_ids = r.requester_ids;
  if (std::find(opt.requester_ids.begin(), opt.requester_ids.end(), r.issuer) == opt.requester_ids.end())
    opt.requester_ids.push_back(r.issuer);
  if (cfg.forward_requested_attributes && !r.requested_attributes.empty()) {
    AkdbRequestExtension ext = sp.config().akdb_extension.value_or(AkdbRequestExtension{});
    ext.requested_attributes.clear();
    for (const auto &ra : r.requested_attributes) {
      const auto canonical = canonical_requested(ra.name);
      if (!canonical) continue;
      const auto upstream_name = attributes.inbound_name(*canonical, upstream_idp);
      if (!upstream_name) continue;
      if (std::none_of(ext.requested_attributes.begin(), ext.requested_attributes.end(),
                       [&](const auto &x) { return x.name == *upstream_name; }))
        ext.requested_attributes.push_back({*upstream_name, ra.is_required});
    }
    if (!ext.requested_attributes.empty()) opt.akdb_extension = std::move(ext);
  }

  ServiceProvider::LoginStart started = sp.begin_login(opt);
  if (started.error) {
    pending->take(p.key, clock->now());
    return answer_error(p, status::responder, status::no_supported_idp, "upstream_not_started",
                        fmt::format("the upstream AuthnRequest could not be built: {}: {}",
                                    to_string(started.error->code()), started.error->detail()),
                        record_for(p));
  }
  p.upstream_idp = upstream_idp;
  p.upstream_started = clock->now();
  p.upstream_request_id = started.request_id;
  note(LogLevel::info, fmt::format("interkonto proxy: request {} from {} sent on to {} ({})", r.id, r.issuer,
                                   upstream_idp, p.upstream_request_id));
  pending->put(std::move(p));
  return std::move(started.response);
}

HttpResponse Proxy::Impl::handle_sso(const HttpRequest &req) const {
  ReceivedAuthnRequest portal_req;
  try {
    portal_req = idp.receive_authn_request(req);
  } catch (const Error &e) {
    // Unknown portal, bad signature, ACS URL not in metadata, ...: never a
    // POST anywhere, an error page in the browser.
    note(LogLevel::warning,
         fmt::format("interkonto proxy: portal request refused: {}: {}", to_string(e.code()), e.detail()));
    ProxyAuditRecord a;
    a.cause = std::string(to_string(e.code()));
    audit(std::move(a));
    return error_page(e.code() == ErrorCode::internal ? 500 : 400, e.citizen_message());
  }
  const TimePoint now = clock->now();
  PendingPortalRequest p;
  p.key = random_id();
  p.min_trust_level = requested_minimum_level(portal_req);
  p.created = now;
  p.expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(cfg.pending_lifetime);
  p.request = std::move(portal_req);
  const ReceivedAuthnRequest &r = p.request;

  if (p.min_trust_level && *p.min_trust_level > 4) // Comparison="better" than the highest level
    return answer_error(p, status::responder, status::no_authn_context, "level_unsatisfiable",
                        "the portal asks for a level above STORK-QAA-Level-4", record_for(p));
  // Loop protection.
  if (r.proxy_count && *r.proxy_count == 0)
    return answer_error(p, status::responder, status::proxy_count_exceeded, "proxy_count_exceeded",
                        "the portal's ProxyCount is 0 and this service only proxies", record_for(p));
  for (const auto &id : r.requester_ids)
    if (id == cfg.idp.entity_id || id == cfg.sp.entity_id)
      return answer_error(p, status::responder, status::proxy_count_exceeded, "loop",
                          "this proxy is already in the request's RequesterID chain", record_for(p));
  if (r.issuer == cfg.sp.entity_id)
    return answer_error(p, status::responder, status::proxy_count_exceeded, "loop",
                        "the request comes from this proxy's own SP side", record_for(p));

  // Which upstream IdP: hint / remembered choice, a single IDPList entry, discovery, default.
  std::optional<std::string> chosen;
  const auto &disc = cfg.sp.discovery;
  if (disc) chosen = disc->preselected_idp(req);
  if (!chosen) {
    if (auto hint = req.method == "POST" ? req.form_param("idp") : req.query_param("idp"); hint && !disc)
      chosen = *hint;
  }
  if (!chosen && r.idp_list.size() == 1) chosen = r.idp_list.front();
  if (!chosen && !disc && !cfg.sp.default_idp.empty()) chosen = cfg.sp.default_idp;
  if (chosen) return start_upstream(std::move(p), *chosen);
  if (!disc)
    return answer_error(p, status::responder, status::no_supported_idp, "no_upstream_idp",
                        "no upstream IdP chosen and neither discovery nor a default IdP configured",
                        record_for(p));
  if (r.is_passive)
    return answer_error(p, status::responder, status::no_passive, "passive_needs_choice",
                        "IsPassive but the citizen would have to choose an account", record_for(p));
  HttpResponse out;
  out.status = 303;
  out.set_header("Location", disc->page_url(continue_prefix() + p.key));
  out.set_header("Cache-Control", "no-store");
  pending->put(std::move(p));
  return out;
}

HttpResponse Proxy::Impl::handle_login(const HttpRequest &req) const {
  // The discovery page continues here: ?idp=<entityID>&return_to=<continue_path>?key=<key>
  const std::string return_to = req.query_param("return_to").value_or("");
  const std::string prefix = continue_prefix();
  const auto idp_id = req.query_param("idp");
  if (!return_to.starts_with(prefix) || !idp_id || idp_id->empty()) {
    note(LogLevel::warning, "interkonto proxy: login step without a pending portal request or IdP");
    return error_page(400, kExpiredMessage);
  }
  const TimePoint now = clock->now();
  auto p = pending->get(std::string_view(return_to).substr(prefix.size()), now);
  if (!p || !p->upstream_request_id.empty()) {
    // Unknown, or already sent upstream (Back button, double click): the
    // first upstream login is the one that counts.
    note(LogLevel::warning, "interkonto proxy: login step for an unknown or already forwarded request");
    return error_page(400, kExpiredMessage);
  }
  if (p->expires <= now) {
    pending->take(p->key, now);
    return answer_error(*p, status::responder, status::request_denied, "expired",
                        "the portal request expired while the citizen chose an account", record_for(*p));
  }
  return start_upstream(std::move(*p), *idp_id);
}

HttpResponse Proxy::Impl::handle_acs(const HttpRequest &req) const {
  AcsOutcome out = sp.handle_acs(req);
  const TimePoint now = clock->now();

  // The upstream RelayState is the pending key. Unauthenticated on an error
  // path — but it is a 128-bit random value only this browser's login knows,
  // and it can only turn the portal's pending login into a failure.
  //
  // A response whose request was already consumed (a double submit, Back +
  // resubmit, or a copy posted from another browser) must not take the
  // pending entry: the post that won may still be on its way to answer it.
  // Such an entry is only answered here once it has expired.
  std::optional<PendingPortalRequest> p;
  const bool duplicate = out.error && (out.error->code() == ErrorCode::replayed ||
                                       out.error->code() == ErrorCode::in_response_to_mismatch);
  if (!out.relay_state.empty()) {
    if (!duplicate) {
      p = pending->take(out.relay_state, now);
    } else if (const auto peek = pending->get(out.relay_state, now); peek && peek->expires <= now) {
      p = pending->take(out.relay_state, now);
    }
  }
  if (p && out.result && (!out.request || out.request->relay_state != p->key)) p.reset();

  if (!p) {
    if (out.error)
      note(LogLevel::warning,
           fmt::format("interkonto proxy: upstream response refused, no portal request: {}: {}",
                       to_string(out.error->code()), out.error->detail()));
    else
      note(LogLevel::warning, "interkonto proxy: upstream login without a pending portal request");
    return error_page(out.error ? 403 : 400, kExpiredMessage);
  }

  ProxyAuditRecord rec = record_for(*p);
  rec.upstream = since(p->upstream_started, now);
  rec.delivered_level = out.trust_level;
  auto with_cookies = [&](HttpResponse r) {
    // Clear the upstream request cookie; the proxy keeps no SP session for the browser.
    for (const auto &[name, value] : out.response.headers)
      if (name == "Set-Cookie" && value.starts_with(cfg.sp.request_cookie_name)) r.add_header(name, value);
    return r;
  };

  if (p->expires <= now)
    return with_cookies(answer_error(*p, status::responder, status::request_denied, "expired",
                                     "the portal request expired before the upstream login came back",
                                     std::move(rec)));
  if (out.error) {
    const auto [top, second] = proxy_status_for(out.error->code(), out.status);
    std::string detail = out.error->detail();
    return with_cookies(answer_error(*p, top, second, std::string(to_string(out.error->code())),
                                     "upstream: " + detail, std::move(rec)));
  }
  if (!out.result)
    return with_cookies(answer_error(*p, status::responder, status::authn_failed, "internal",
                                     "upstream: no result", std::move(rec)));
  const AuthnResult &res = *out.result;
  try {
    const int level = effective_trust_level(res);
    rec.delivered_level = level;
    if (p->min_trust_level && level < *p->min_trust_level)
      throw Error(ErrorCode::authn_context_insufficient,
                  fmt::format("upstream level {} below the portal's minimum {}", level, *p->min_trust_level));
    const MappedAttributes mapped = attributes.map_inbound(res, log);
    std::vector<std::string> requested;
    for (const auto &ra : p->request.requested_attributes) {
      if (auto n = canonical_requested(ra.name)) requested.push_back(std::move(*n));
    }
    const ReleaseResult released = attributes.release(mapped, p->request.issuer, requested);

    AuthenticatedSubject subject;
    if (level > 0) subject.authn_context_class_ref = stork_level_uri(level);
    // The key of pairwise-persistent NameIDs for the portal: the upstream's
    // persistent NameID, else its bPK2, else (not stable) the NameID itself.
    std::string stable = res.name_id;
    if (res.name_id_format.value_or("") != nameid::persistent)
      if (const auto bpk = mapped.values("bPK2"); !bpk.empty()) stable = "bPK2:" + bpk.front();
    subject.stable_key = res.issuer + "!" + stable;
    subject.session_index = random_id();
    // Where the citizen really logged in (SAML core 2.7.2.2), innermost first.
    subject.authenticating_authorities = res.authenticating_authorities;
    if (std::find(subject.authenticating_authorities.begin(), subject.authenticating_authorities.end(),
                  res.issuer) == subject.authenticating_authorities.end())
      subject.authenticating_authorities.push_back(res.issuer);
    for (const auto &a : attributes.map_outbound(released.attributes))
      subject.attributes.push_back({a.name, a.values, a.friendly_name, a.trust_level});

    HttpResponse r = with_cookies(idp.post_response(p->request, idp.build_response(p->request, subject)));
    rec.success = true;
    rec.issued_level = level > 0 ? std::optional<int>(level) : std::nullopt;
    rec.portal_status = "Success";
    for (const auto &a : released.attributes.attributes) rec.released.push_back(a.name);
    rec.withheld = released.withheld;
    rec.total = since(p->created, clock->now());
    audit(std::move(rec));
    return r;
  } catch (const Error &e) {
    const auto [top, second] = proxy_status_for(e.code(), std::nullopt);
    return with_cookies(
        answer_error(*p, top, second, std::string(to_string(e.code())), e.detail(), std::move(rec)));
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
  try {
    if (req.path == c.sso_path) {
      if (req.method != "GET" && req.method != "POST") return error_page(405, "Methode nicht erlaubt.");
      return impl_->handle_sso(req);
    }
    if (req.path == c.sp.acs_path) {
      if (req.method != "POST") return error_page(405, "Methode nicht erlaubt.");
      return impl_->handle_acs(req);
    }
    if (req.path == c.sp.login_path) {
      if (req.method != "GET") return error_page(405, "Methode nicht erlaubt.");
      return impl_->handle_login(req);
    }
    if (c.sp.discovery && req.path.starts_with(c.sp.discovery->page_path()))
      return c.sp.discovery->handle(req);
    if (req.path == c.sp.metadata_path) return impl_->sp.handle_metadata();
    if (req.path == c.idp_metadata_path) {
      HttpResponse r;
      r.set_header("Content-Type", "application/samlmetadata+xml");
      r.body = impl_->idp.metadata_xml();
      return r;
    }
    return error_page(404, "Diese Seite gibt es nicht.");
  } catch (const std::exception &e) {
    impl_->note(LogLevel::error, fmt::format("interkonto proxy: internal error: {}", e.what()));
    return error_page(500, "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.");
  }
}

} // namespace interkonto
