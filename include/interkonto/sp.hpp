// SPDX-License-Identifier: EUPL-1.2
#pragma once
// The service provider: SP-initiated login (AuthnRequest by HTTP-Redirect or
// HTTP-POST) and the assertion consumer service with every check of
// DESIGN.md "Response checks". Sans-I/O: endpoints map an HttpRequest to an
// HttpResponse.

#include <chrono>
#include <functional>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/bindings.hpp"
#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"

namespace interkonto {

namespace nameid {
inline constexpr std::string_view transient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
inline constexpr std::string_view persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
inline constexpr std::string_view unspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
inline constexpr std::string_view email = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
} // namespace nameid

// "STORK-QAA-Level-n" for n = 1..4.
std::string stork_level_uri(int level);
// 1..4 for a STORK-QAA-Level-n class ref, nullopt for anything else.
std::optional<int> parse_stork_level(std::string_view class_ref);

struct AuthnResult;
// Effective STORK level of a result (1..4; 0 when none): the AuthnContextClassRef
// and the trust-level attribute urn:oid:1.2.40.0.10.2.1.1.261.94, the lower
// one when both are present; eIDAS LoA URIs count as 2..4.
int effective_trust_level(const AuthnResult &result);

// The AKDB AuthenticationRequest extension (namespace https://www.akdb.de/request/2018/09).
struct AkdbRequestExtension {
  int version = 2;
  std::optional<bool> enable_status_detail;
  struct AuthnMethod {
    std::string name; // Authega, Benutzername, Diia, eID, eIDAS, Elster, FINK
    std::optional<bool> enabled;
  };
  std::vector<AuthnMethod> authn_methods;
  struct RequestedAttribute {
    std::string name; // OID URI
    bool required = false;
  };
  std::vector<RequestedAttribute> requested_attributes;
  struct DisplayInformation {
    std::string purpose;
    std::string organization_display_name;
    std::string lang; // de, en, ru, uk
    std::string back_url;
    std::string online_service_id;
  };
  std::optional<DisplayInformation> display_information;
};

// Per-IdP settings.
struct IdpSettings {
  EntityPtr entity;                                     // from metadata; must have an IdP role
  std::string authn_request_binding{binding::redirect}; // or binding::post
  std::string authn_request_signature_method{alg::rsa_sha256};
  bool sign_authn_requests = true;
  AlgorithmPolicy policy; // verification/decryption policy for this IdP
  bool require_encrypted_assertion = false;
};

class Discovery; // discovery.hpp

// Where an SP's trusted IdPs come from.
class IdpDirectory {
public:
  virtual ~IdpDirectory() = default;
  // Settings of a trusted IdP, nullptr when unknown. Throws
  // Error(untrusted_metadata) when the source of trust is unusable (e.g.
  // the federation metadata has expired: fail closed).
  virtual std::shared_ptr<const IdpSettings> find(std::string_view entity_id) const = 0;
};

// A fixed list (IdP metadata files).
std::shared_ptr<const IdpDirectory> make_static_idp_directory(std::vector<IdpSettings> idps);

class MetadataProvider;
// Every entity with an IdP role in the federation's current snapshot that
// matches `filter`, with `defaults` as its settings (entity filled in);
// `overrides` replace the defaults for single IdPs (matched by entityID).
std::shared_ptr<const IdpDirectory>
make_federation_idp_directory(std::shared_ptr<const MetadataProvider> provider, IdpSettings defaults,
                              EntityFilter filter = {}, std::vector<IdpSettings> overrides = {});

// One parsed, validated assertion.
struct SamlAttribute {
  std::string name;
  std::string name_format;
  std::string friendly_name;
  std::string trust_level; // akdb:TrustLevel on the Attribute element, if any
  std::vector<std::string> values;
};

struct AuthnResult {
  std::string issuer;
  std::string name_id;
  std::optional<std::string> name_id_format;
  std::optional<std::string> name_qualifier;
  std::optional<std::string> sp_name_qualifier;
  std::optional<std::string> session_index;
  std::optional<TimePoint> authn_instant;
  std::optional<std::string> authn_context_class_ref;
  // AuthnContext/AuthenticatingAuthority: the IdPs a proxy passed the login
  // through, innermost (the one that authenticated the user) first.
  std::vector<std::string> authenticating_authorities;
  TimePoint not_on_or_after;             // earlier of Conditions and bearer SubjectConfirmationData
  std::vector<SamlAttribute> attributes; // merged by Name, document order
  std::string assertion_id;
  std::string response_id;
  std::optional<std::string> in_response_to;
  bool was_encrypted = false;

  const SamlAttribute *attribute(std::string_view name) const;
};

// Everything a response is checked against.
struct ResponseCheck {
  std::string sp_entity_id;
  std::string acs_url;
  std::optional<std::string> in_response_to; // the request this response must answer
  // Alternatively, a callback that decides whether the Response's
  // InResponseTo names a request this SP is waiting for (and consumes it).
  std::function<bool(std::string_view in_response_to)> accept_in_response_to;
  bool allow_unsolicited = false;
  TimePoint now;
  std::chrono::seconds clock_skew{180};
  std::optional<int> min_trust_level; // STORK-QAA level the AuthnContext must meet
  std::size_t max_size = default_message_limit;
  bool schema_validation = true;
};

// Validates SAML Responses from a fixed set of IdPs. Immutable after
// construction; safe to share between threads.
class ResponseValidator {
public:
  ResponseValidator(std::vector<IdpSettings> idps, std::vector<PrivateKey> decryption_keys,
                    std::shared_ptr<ReplayCache> replay_cache);
  ResponseValidator(std::shared_ptr<const IdpDirectory> idps, std::vector<PrivateKey> decryption_keys,
                    std::shared_ptr<ReplayCache> replay_cache);
  ~ResponseValidator();
  ResponseValidator(const ResponseValidator &) = delete;
  ResponseValidator &operator=(const ResponseValidator &) = delete;

  // `message` is the Response XML, or its base64 form value when the first
  // non-blank character (after an optional BOM) is not '<'.
  // Throws Error with the code of a failing check.
  AuthnResult validate(std::string_view message, const ResponseCheck &check) const;

  std::shared_ptr<const IdpSettings> idp(std::string_view entity_id) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct SpConfig {
  std::string entity_id;
  std::string base_url;               // e.g. "https://portal.example" (scheme://host[:port])
  std::string acs_path = "/saml/acs"; // ACS URL = base_url + acs_path
  std::string login_path = "/saml/login";
  std::string metadata_path = "/saml/metadata";
  std::optional<Credential> signing;  // signs AuthnRequests
  std::vector<Credential> decryption; // tried in order (key rollover)
  std::vector<IdpSettings> idps;      // fixed IdPs; the first is the default IdP
  // Alternatively (when set, `idps` is not used): the IdPs of a federation,
  // e.g. make_federation_idp_directory(provider, defaults).
  std::shared_ptr<const IdpDirectory> idp_directory;
  std::string default_idp; // entityID used when a login names none
  // With discovery set, a login that names no IdP takes the hint or the
  // remembered choice, else the browser is sent to the discovery page.
  std::shared_ptr<const Discovery> discovery;

  std::string name_id_format{nameid::transient};
  bool allow_create = true;
  bool force_authn = false;
  bool is_passive = false;
  std::optional<int> min_trust_level; // STORK-QAA-Level-n, Comparison="minimum"
  std::optional<AkdbRequestExtension> akdb_extension;

  bool allow_unsolicited = false;
  std::chrono::seconds clock_skew{180};
  std::chrono::seconds request_lifetime{600};
  std::chrono::seconds session_idle_timeout{std::chrono::minutes(30)};
  std::chrono::seconds session_absolute_timeout{std::chrono::hours(8)};
  std::vector<std::string> allowed_return_origins; // "https://host[:port]"; local paths always allowed
  std::string default_return_to = "/";
  std::string session_cookie_name = "interkonto_session";
  std::string request_cookie_name = "interkonto_req";
  bool development_insecure_http = false; // drops `Secure` from cookies; never in production
  std::size_t max_message_size = default_message_limit;
  bool schema_validation = true;

  std::string acs_url() const { return base_url + acs_path; }
};

struct LoginOptions {
  std::string return_to; // where to go after login (validated)
  std::optional<std::string> idp_entity_id;
  std::optional<bool> force_authn;
  std::optional<bool> is_passive;
  std::optional<int> min_trust_level;
  // The RelayState sent along (1..80 printable ASCII bytes); empty: a fresh
  // random one. The ACS accepts the response only with this value back.
  std::string relay_state;
  // Replaces SpConfig::akdb_extension for this login (e.g. the attributes a
  // proxied portal asked for).
  std::optional<AkdbRequestExtension> akdb_extension;
  // samlp:Scoping: ProxyCount and RequesterID (a proxy names the requesters
  // it acts for, so a loop can be detected).
  std::optional<unsigned> proxy_count;
  std::vector<std::string> requester_ids;
};

// The status of a SAML Response that is not Success.
struct SamlStatus {
  std::string code;         // top-level StatusCode Value
  std::string second_level; // nested StatusCode Value, may be empty
  std::string message;      // StatusMessage (untrusted text, bounded), may be empty
};

// The top-level status of a Response (XML or base64 form value), read with
// the safe parser; nullopt when the message is not a readable Response.
std::optional<SamlStatus> response_status(std::string_view message,
                                          std::size_t max_size = default_message_limit);

struct AcsOutcome {
  HttpResponse response; // 303 to return_to with a fresh session cookie, or an error page
  std::optional<Session> session;
  std::optional<AuthnResult> result;
  std::optional<Error> error;
  // The RelayState that came with the POST (bounded to 80 bytes; empty when
  // longer or absent). Authenticated only when `result` is set.
  std::string relay_state;
  // The AuthnRequest this response answered (consumed from the tracker);
  // set when the response was accepted.
  std::optional<PendingRequest> request;
  // For error == status_not_success: the status the IdP sent.
  std::optional<SamlStatus> status;
  // Effective STORK level of a response that passed validation, also when
  // it was then refused for being below the minimum (for audit records).
  std::optional<int> trust_level;
};

class ServiceProvider {
public:
  ServiceProvider(SpConfig config, std::shared_ptr<SessionStore> sessions,
                  std::shared_ptr<RequestTracker> tracker, std::shared_ptr<ReplayCache> replay,
                  std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  ~ServiceProvider();

  const SpConfig &config() const;

  // Builds the AuthnRequest XML (unsigned for Redirect: the query is signed;
  // with an enveloped signature for POST). Exposed for tools and tests.
  struct BuiltRequest {
    std::string id;
    std::string xml;
    std::string idp_entity_id;
    std::string destination;
    std::string binding;
  };
  BuiltRequest build_authn_request(const LoginOptions &opt) const;

  // Starts a login: 302 to the IdP (Redirect) or an auto-submit form (POST),
  // records the request ID and sets the browser-binding cookie.
  HttpResponse start_login(const LoginOptions &opt) const;
  // The same, telling a caller (e.g. the proxy) what happened.
  struct LoginStart {
    HttpResponse response;      // the redirect/form, or an error page
    std::string request_id;     // the AuthnRequest ID; empty on error
    std::string idp_entity_id;  // where it goes; empty on error
    std::optional<Error> error; // why no request was sent
  };
  LoginStart begin_login(const LoginOptions &opt) const;
  // Handles a request to login_path (?return_to=..&idp=..). Without `idp`
  // and with discovery configured: the preselected IdP, else a 303 to the
  // discovery page.
  HttpResponse handle_login(const HttpRequest &req) const;
  // The assertion consumer service (HTTP-POST binding).
  AcsOutcome handle_acs(const HttpRequest &req) const;
  // SP metadata document.
  HttpResponse handle_metadata() const;
  std::string metadata_xml() const;
  // The session for this browser, if any (refreshes the idle timeout).
  std::optional<Session> current_session(const HttpRequest &req) const;
  // Is `return_to` a local path or an allow-listed origin?
  bool return_to_allowed(std::string_view return_to) const;

  const ResponseValidator &validator() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace interkonto
