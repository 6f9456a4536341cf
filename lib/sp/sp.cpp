// SPDX-License-Identifier: EUPL-1.2
#include <fmt/format.h>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/discovery.hpp"
#include "interkonto/sp.hpp"

namespace interkonto {

namespace {

std::string esc(std::string_view s) {
  return html_escape(s);
}

std::string error_page(const Error &e) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>Anmeldung nicht möglich</title></head>\n<body><main>\n<h1>Anmeldung nicht möglich</h1>\n"
      "<p>{}</p>\n<p>Fehlercode / error code: <code>{}</code></p>\n</main></body></html>\n",
      esc(e.citizen_message()), to_string(e.code()));
}

int http_status_for(ErrorCode c) {
  switch (c) {
  case ErrorCode::request_invalid:
    return 400;
  case ErrorCode::internal:
  case ErrorCode::config_invalid:
    return 500;
  case ErrorCode::untrusted_metadata:
    return 503;
  default:
    return 403;
  }
}

HttpResponse html_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Cache-Control", "no-store");
  r.set_header("Content-Security-Policy",
               "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.body = std::move(body);
  return r;
}

void log_to(const LogSink &log, LogLevel level, const std::string &msg) {
  if (log) log(level, msg);
}

} // namespace

struct ServiceProvider::Impl {
  SpConfig cfg;
  std::shared_ptr<SessionStore> sessions;
  std::shared_ptr<RequestTracker> tracker;
  std::shared_ptr<ReplayCache> replay;
  std::shared_ptr<const Clock> clock;
  LogSink log;
  std::unique_ptr<ResponseValidator> validator;

  TimePoint now() const { return clock->now(); }
  std::shared_ptr<const IdpDirectory> directory;
  std::shared_ptr<const IdpSettings> idp_for(const std::optional<std::string> &entity_id) const;
  CookieOptions cookie(std::string path, std::string same_site) const {
    CookieOptions o;
    o.path = std::move(path);
    o.secure = !cfg.development_insecure_http;
    // SameSite=None requires Secure; the development switch falls back to Lax.
    o.same_site = (same_site == "None" && !o.secure) ? "Lax" : std::move(same_site);
    o.http_only = true;
    return o;
  }
  HttpResponse fail_page(const Error &e) const {
    log_to(log, e.code() == ErrorCode::internal ? LogLevel::error : LogLevel::warning,
           fmt::format("interkonto sp: login failed: {}", e.what()));
    return html_response(http_status_for(e.code()), error_page(e));
  }
};

std::shared_ptr<const IdpSettings>
ServiceProvider::Impl::idp_for(const std::optional<std::string> &entity_id) const {
  std::string id;
  if (entity_id)
    id = *entity_id;
  else if (!cfg.default_idp.empty())
    id = cfg.default_idp;
  else if (!cfg.idps.empty())
    id = cfg.idps.front().entity->entity_id;
  else
    throw Error(ErrorCode::request_invalid, "no IdP chosen for the login");
  auto s = directory->find(id);
  if (!s) throw Error(ErrorCode::request_invalid, "unknown IdP requested");
  return s;
}

ServiceProvider::ServiceProvider(SpConfig config, std::shared_ptr<SessionStore> sessions,
                                 std::shared_ptr<RequestTracker> tracker, std::shared_ptr<ReplayCache> replay,
                                 std::shared_ptr<const Clock> clock, LogSink log)
    : impl_(std::make_unique<Impl>()) {
  if (config.entity_id.empty()) throw Error(ErrorCode::config_invalid, "SP entityID missing");
  if (config.base_url.empty()) throw Error(ErrorCode::config_invalid, "SP base URL missing");
  if (!config.development_insecure_http && !config.base_url.starts_with("https://"))
    throw Error(ErrorCode::config_invalid, "SP base URL must be https (or enable development_insecure_http)");
  for (const auto &i : config.idps) {
    if (!i.entity || !i.entity->idp) throw Error(ErrorCode::config_invalid, "IdP without IDPSSODescriptor");
    if (i.sign_authn_requests && !config.signing)
      throw Error(ErrorCode::config_invalid, "signed AuthnRequests need an SP signing key");
  }
  impl_->directory = config.idp_directory ? config.idp_directory : make_static_idp_directory(config.idps);
  std::vector<PrivateKey> dec;
  for (const auto &c : config.decryption) dec.push_back(c.key);
  impl_->validator = std::make_unique<ResponseValidator>(impl_->directory, std::move(dec), replay);
  impl_->cfg = std::move(config);
  impl_->sessions = sessions ? std::move(sessions) : std::make_shared<InMemorySessionStore>();
  impl_->tracker = tracker ? std::move(tracker) : std::make_shared<InMemoryRequestTracker>();
  impl_->replay = std::move(replay);
  impl_->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
  impl_->log = std::move(log);
}

ServiceProvider::~ServiceProvider() = default;

const SpConfig &ServiceProvider::config() const {
  return impl_->cfg;
}
const ResponseValidator &ServiceProvider::validator() const {
  return *impl_->validator;
}

ServiceProvider::BuiltRequest ServiceProvider::build_authn_request(const LoginOptions &opt) const {
  const SpConfig &c = impl_->cfg;
  const std::shared_ptr<const IdpSettings> idp_ptr = impl_->idp_for(opt.idp_entity_id);
  const IdpSettings &idp = *idp_ptr;
  if (idp.sign_authn_requests && !c.signing)
    throw Error(ErrorCode::config_invalid, "signed AuthnRequests need an SP signing key");
  const Endpoint *ep = idp.entity->idp->sso_endpoint(idp.authn_request_binding);
  if (ep == nullptr)
    throw Error(ErrorCode::config_invalid, fmt::format("IdP {} has no SingleSignOnService for {}",
                                                       idp.entity->entity_id, idp.authn_request_binding));
  BuiltRequest out;
  out.id = "_" + random_id();
  out.idp_entity_id = idp.entity->entity_id;
  out.destination = ep->location;
  out.binding = idp.authn_request_binding;

  const bool force = opt.force_authn.value_or(c.force_authn);
  const bool passive = opt.is_passive.value_or(c.is_passive);
  const auto level = opt.min_trust_level ? opt.min_trust_level : c.min_trust_level;
  std::string x = fmt::format(
      "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
      "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\" "
      "Destination=\"{}\" AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"{}\"{}{}>"
      "<saml:Issuer>{}</saml:Issuer>",
      out.id, format_datetime(std::chrono::floor<std::chrono::seconds>(impl_->now())), esc(ep->location),
      esc(c.acs_url()), binding::post, force ? " ForceAuthn=\"true\"" : "",
      passive ? " IsPassive=\"true\"" : "", esc(c.entity_id));
  const std::optional<AkdbRequestExtension> &akdb =
      opt.akdb_extension ? opt.akdb_extension : c.akdb_extension;
  if (akdb) {
    const auto &a = *akdb;
    x += fmt::format(
        "<samlp:Extensions><akdb:AuthenticationRequest xmlns:akdb=\"https://www.akdb.de/request/2018/09\" "
        "Version=\"{}\"{}>",
        a.version,
        a.enable_status_detail
            ? (*a.enable_status_detail ? " EnableStatusDetail=\"true\"" : " EnableStatusDetail=\"false\"")
            : "");
    if (!a.authn_methods.empty()) {
      x += "<akdb:AuthnMethods>";
      for (const auto &m : a.authn_methods) {
        const std::string n = esc(m.name);
        if (m.enabled)
          x += fmt::format("<akdb:{0}><akdb:Enabled>{1}</akdb:Enabled></akdb:{0}>", n,
                           *m.enabled ? "true" : "false");
        else
          x += fmt::format("<akdb:{}/>", n);
      }
      x += "</akdb:AuthnMethods>";
    }
    x += "<akdb:RequestedAttributes>";
    for (const auto &r : a.requested_attributes)
      x += fmt::format("<akdb:RequestedAttribute Name=\"{}\" RequiredAttribute=\"{}\"/>", esc(r.name),
                       r.required ? "true" : "false");
    x += "</akdb:RequestedAttributes>";
    if (a.display_information) {
      const auto &di = *a.display_information;
      x += "<akdb:DisplayInformation><classic-ui:Version "
           "xmlns:classic-ui=\"https://www.akdb.de/request/2018/09/classic-ui/v1\">";
      auto field = [&](const char *name, const std::string &v) {
        if (!v.empty()) x += fmt::format("<classic-ui:{0}>{1}</classic-ui:{0}>", name, esc(v));
      };
      field("Purpose", di.purpose);
      field("OrganizationDisplayName", di.organization_display_name);
      field("Lang", di.lang);
      field("BackURL", di.back_url);
      field("OnlineServiceId", di.online_service_id);
      x += "</classic-ui:Version></akdb:DisplayInformation>";
    }
    x += "</akdb:AuthenticationRequest></samlp:Extensions>";
  }
  x += fmt::format("<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"{}\"/>", esc(c.name_id_format),
                   c.allow_create ? "true" : "false");
  if (level) {
    if (*level < 1 || *level > 4) throw Error(ErrorCode::config_invalid, "trust level must be 1..4");
    x += fmt::format("<samlp:RequestedAuthnContext Comparison=\"minimum\"><saml:AuthnContextClassRef>{}"
                     "</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>",
                     stork_level_uri(*level));
  }
  if (opt.proxy_count || !opt.requester_ids.empty()) {
    x += "<samlp:Scoping";
    if (opt.proxy_count) x += fmt::format(" ProxyCount=\"{}\"", *opt.proxy_count);
    x += ">";
    for (const auto &r : opt.requester_ids)
      x += fmt::format("<samlp:RequesterID>{}</samlp:RequesterID>", esc(r));
    x += "</samlp:Scoping>";
  }
  x += "</samlp:AuthnRequest>";

  if (out.binding == binding::post && idp.sign_authn_requests) {
    xml::DocPtr doc = xml::parse(x, c.max_message_size);
    xmlNode *root = xmlDocGetRootElement(doc.get());
    xmlNode *issuer = xml::first_child(root, xml::ns_saml, "Issuer");
    const Certificate *cert = c.signing->certificate ? &*c.signing->certificate : nullptr;
    xmlsec::sign_enveloped(doc.get(), root, issuer, c.signing->key, idp.authn_request_signature_method,
                           alg::sha256, cert);
    x = xml::serialize(doc.get(), root);
  }
  out.xml = std::move(x);
  return out;
}

bool ServiceProvider::return_to_allowed(std::string_view r) const {
  if (r.empty()) return false;
  for (char ch : r) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x21 || u == 0x7f || ch == '\\') return false; // controls, spaces, backslash
  }
  if (r.front() == '/') return r.size() == 1 || (r[1] != '/');
  for (const auto &origin : impl_->cfg.allowed_return_origins) {
    if (r.size() >= origin.size() && r.compare(0, origin.size(), origin) == 0) {
      if (r.size() == origin.size()) return true;
      const char next = r[origin.size()];
      if (next == '/' || next == '?' || next == '#') return true;
    }
  }
  return false;
}

HttpResponse ServiceProvider::start_login(const LoginOptions &opt) const {
  return begin_login(opt).response;
}

ServiceProvider::LoginStart ServiceProvider::begin_login(const LoginOptions &opt) const {
  const SpConfig &c = impl_->cfg;
  LoginStart out;
  try {
    std::string return_to = opt.return_to.empty() ? c.default_return_to : opt.return_to;
    if (!return_to_allowed(return_to))
      throw Error(ErrorCode::request_invalid, "return_to is not an allowed target");
    BuiltRequest br = build_authn_request(opt);
    const std::shared_ptr<const IdpSettings> idp_ptr = impl_->idp_for(br.idp_entity_id);
    const IdpSettings &idp = *idp_ptr;
    PendingRequest p;
    p.request_id = br.id;
    p.idp_entity_id = br.idp_entity_id;
    p.browser_binding = random_id();
    if (opt.relay_state.empty()) {
      p.relay_state = random_id(); // opaque, 22 bytes (<= 80)
    } else {
      if (opt.relay_state.size() > 80)
        throw Error(ErrorCode::config_invalid, "RelayState longer than 80 bytes");
      for (char ch : opt.relay_state)
        if (static_cast<unsigned char>(ch) < 0x21 || static_cast<unsigned char>(ch) > 0x7e)
          throw Error(ErrorCode::config_invalid, "RelayState must be printable ASCII");
      p.relay_state = opt.relay_state;
    }
    p.return_to = return_to;
    p.min_trust_level = opt.min_trust_level ? opt.min_trust_level : c.min_trust_level;
    p.expires = impl_->now() + std::chrono::duration_cast<std::chrono::milliseconds>(c.request_lifetime);
    HttpResponse r;
    CookieOptions co = impl_->cookie(c.acs_path, "None");
    co.max_age_seconds = static_cast<long>(c.request_lifetime.count());
    r.add_header("Set-Cookie", make_set_cookie(c.request_cookie_name + br.id, p.browser_binding, co));
    r.set_header("Cache-Control", "no-store");
    if (br.binding == binding::redirect) {
      const PrivateKey *key = idp.sign_authn_requests ? &c.signing->key : nullptr;
      const std::string q = redirect_encode(MessageKind::request, br.xml, p.relay_state, key,
                                            idp.authn_request_signature_method);
      r.status = 302;
      r.set_header("Location",
                   br.destination + (br.destination.find('?') == std::string::npos ? "?" : "&") + q);
    } else {
      r.status = 200;
      r.set_header("Content-Type", "text/html; charset=utf-8");
      r.set_header("Content-Security-Policy", post_form_csp(br.destination));
      r.body = post_form_html(br.destination, MessageKind::request, br.xml, p.relay_state);
    }
    impl_->tracker->put(std::move(p));
    log_to(impl_->log, LogLevel::info,
           fmt::format("interkonto sp: AuthnRequest {} to {}", br.id, br.idp_entity_id));
    out.response = std::move(r);
    out.request_id = std::move(br.id);
    out.idp_entity_id = std::move(br.idp_entity_id);
  } catch (const Error &e) {
    out.response = impl_->fail_page(e);
    out.error = e;
  }
  return out;
}

HttpResponse ServiceProvider::handle_login(const HttpRequest &req) const {
  LoginOptions o;
  o.return_to = req.query_param("return_to").value_or("");
  if (auto idp = req.query_param("idp")) {
    o.idp_entity_id = *idp;
  } else if (const auto &d = impl_->cfg.discovery) {
    if (auto chosen = d->preselected_idp(req)) {
      o.idp_entity_id = *chosen;
    } else {
      if (!o.return_to.empty() && !return_to_allowed(o.return_to))
        return impl_->fail_page(Error(ErrorCode::request_invalid, "return_to is not an allowed target"));
      HttpResponse r;
      r.status = 303;
      r.set_header("Location", d->page_url(o.return_to.empty() ? impl_->cfg.default_return_to : o.return_to));
      r.set_header("Cache-Control", "no-store");
      return r;
    }
  }
  return start_login(o);
}

AcsOutcome ServiceProvider::handle_acs(const HttpRequest &req) const {
  const SpConfig &c = impl_->cfg;
  AcsOutcome out;
  try {
    if (req.method != "POST") throw Error(ErrorCode::request_invalid, "the ACS accepts only POST");
    const auto saml_response = req.form_param("SAMLResponse");
    if (!saml_response) throw Error(ErrorCode::request_invalid, "no SAMLResponse in the POST");
    const std::string relay_state = req.form_param("RelayState").value_or("");
    if (relay_state.size() > 80) throw Error(ErrorCode::request_invalid, "RelayState longer than 80 bytes");
    out.relay_state = relay_state;

    std::optional<PendingRequest> pending;
    ResponseCheck check;
    check.sp_entity_id = c.entity_id;
    check.acs_url = c.acs_url();
    check.allow_unsolicited = c.allow_unsolicited;
    check.now = impl_->now();
    check.clock_skew = c.clock_skew;
    check.max_size = c.max_message_size;
    check.schema_validation = c.schema_validation;
    check.accept_in_response_to = [&](std::string_view irt) {
      auto taken = impl_->tracker->take(irt, check.now); // single use, even if later checks fail
      if (!taken) return false;
      const auto bound = req.cookie(c.request_cookie_name + taken->request_id);
      // The response must come back to the browser that started the login.
      if (!bound || *bound != taken->browser_binding || relay_state != taken->relay_state) return false;
      pending = std::move(taken);
      return true;
    };
    AuthnResult res;
    try {
      res = impl_->validator->validate(*saml_response, check);
    } catch (const Error &e) {
      if (e.code() == ErrorCode::status_not_success)
        out.status = response_status(*saml_response, c.max_message_size);
      throw;
    }
    if (pending && pending->idp_entity_id != res.issuer)
      throw Error(ErrorCode::issuer_mismatch, "the response comes from another IdP than the request went to");
    const auto min_level = pending ? pending->min_trust_level : c.min_trust_level;
    out.trust_level = effective_trust_level(res);
    if (min_level && *out.trust_level < *min_level)
      throw Error(ErrorCode::authn_context_insufficient,
                  fmt::format("trust level below the required {}", stork_level_uri(*min_level)));

    std::string return_to = c.default_return_to;
    if (pending)
      return_to = pending->return_to;
    else if (!relay_state.empty() && return_to_allowed(relay_state))
      return_to = relay_state;

    Session s;
    s.id = random_id(); // always a fresh ID (no fixation)
    s.idp_entity_id = res.issuer;
    s.name_id = res.name_id;
    s.name_id_format = res.name_id_format.value_or("");
    s.session_index = res.session_index.value_or("");
    s.authn_context_class_ref = res.authn_context_class_ref.value_or("");
    s.authenticating_authorities = res.authenticating_authorities;
    for (const auto &a : res.attributes) s.attributes.emplace_back(a.name, a.values);
    s.created = check.now;
    s.last_seen = check.now;
    s.expires = check.now + std::chrono::duration_cast<std::chrono::milliseconds>(c.session_absolute_timeout);
    impl_->sessions->put(s);

    HttpResponse r;
    r.status = 303;
    r.set_header("Location", return_to);
    r.set_header("Cache-Control", "no-store");
    r.add_header("Set-Cookie", make_set_cookie(c.session_cookie_name, s.id, impl_->cookie("/", "Lax")));
    if (pending) {
      CookieOptions gone = impl_->cookie(c.acs_path, "None");
      gone.max_age_seconds = 0;
      r.add_header("Set-Cookie", make_set_cookie(c.request_cookie_name + pending->request_id, "", gone));
    }
    log_to(impl_->log, LogLevel::info,
           fmt::format("interkonto sp: login from {} accepted (assertion {})", res.issuer, res.assertion_id));
    out.response = std::move(r);
    out.session = std::move(s);
    out.result = std::move(res);
    out.request = std::move(pending);
  } catch (const Error &e) {
    out.response = impl_->fail_page(e);
    out.error = e;
  }
  return out;
}

std::string ServiceProvider::metadata_xml() const {
  const SpConfig &c = impl_->cfg;
  SpMetadataOptions o;
  o.entity_id = c.entity_id;
  o.acs_urls = {c.acs_url()};
  if (c.signing && c.signing->certificate) o.signing_certificate = c.signing->certificate;
  for (const auto &d : c.decryption)
    if (d.certificate) o.encryption_certificates.push_back(*d.certificate);
  o.name_id_formats = {c.name_id_format};
  o.authn_requests_signed = c.signing.has_value();
  o.want_assertions_signed = true;
  return make_sp_metadata(o);
}

HttpResponse ServiceProvider::handle_metadata() const {
  HttpResponse r;
  r.status = 200;
  r.set_header("Content-Type", "application/samlmetadata+xml");
  r.body = metadata_xml();
  return r;
}

std::optional<Session> ServiceProvider::current_session(const HttpRequest &req) const {
  const auto id = req.cookie(impl_->cfg.session_cookie_name);
  if (!id) return std::nullopt;
  return impl_->sessions->touch(*id, impl_->now(), impl_->cfg.session_idle_timeout);
}

} // namespace interkonto
