// SPDX-License-Identifier: EUPL-1.2
#pragma once
// The identity-provider side: accept an AuthnRequest from a known SP and
// issue a signed (optionally encrypted) Response. The host application does
// the authentication; the IdP keeps no user database.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/http.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"

namespace interkonto {

// SAML status code URIs (SAML core §3.2.2.2). Second-level codes go under
// requester or responder.
namespace status {
inline constexpr std::string_view success = "urn:oasis:names:tc:SAML:2.0:status:Success";
inline constexpr std::string_view requester = "urn:oasis:names:tc:SAML:2.0:status:Requester";
inline constexpr std::string_view responder = "urn:oasis:names:tc:SAML:2.0:status:Responder";
inline constexpr std::string_view version_mismatch = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch";
inline constexpr std::string_view authn_failed = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
inline constexpr std::string_view invalid_attr_name_or_value =
    "urn:oasis:names:tc:SAML:2.0:status:InvalidAttrNameOrValue";
inline constexpr std::string_view invalid_name_id_policy =
    "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy";
inline constexpr std::string_view no_authn_context = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
inline constexpr std::string_view no_available_idp = "urn:oasis:names:tc:SAML:2.0:status:NoAvailableIDP";
inline constexpr std::string_view no_passive = "urn:oasis:names:tc:SAML:2.0:status:NoPassive";
inline constexpr std::string_view no_supported_idp = "urn:oasis:names:tc:SAML:2.0:status:NoSupportedIDP";
inline constexpr std::string_view proxy_count_exceeded =
    "urn:oasis:names:tc:SAML:2.0:status:ProxyCountExceeded";
inline constexpr std::string_view request_denied = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
inline constexpr std::string_view request_unsupported =
    "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported";
inline constexpr std::string_view unknown_principal = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";
} // namespace status

// How the IdP builds Responses for one SP. An empty signature_method means
// "choose": the SP's alg:SigningMethod (first one the IdP key can do and the
// policy allows), else RSASSA-PSS-SHA256 for RSA keys (TR-03116-4) and
// ECDSA-SHA256 for EC keys. Set rsa-sha256 for peers that cannot verify PSS.
struct ResponseOptions {
  std::string signature_method;
  std::string digest_method{alg::sha256};
  bool sign_assertion = true;
  bool sign_response = false;
  bool encrypt_assertion = false;
  // Used unless the SP's md:EncryptionMethod list asks for something else.
  std::string data_encryption{alg::aes256_gcm};
  std::string key_transport{alg::rsa_oaep};
  // NameID: pairwise-persistent even when the request does not ask for it.
  bool persistent_name_id = false;
  // SAML subject-id / pairwise-id attributes (value "<id>@<scope>").
  bool subject_id_attribute = false;
  bool pairwise_id_attribute = false;
};

struct IdpConfig {
  std::string entity_id;
  std::string sso_url; // where AuthnRequests arrive (Destination)
  Credential signing;
  std::vector<EntityPtr> sps; // known SPs (from metadata)
  bool require_signed_requests = true;
  std::chrono::seconds clock_skew{180};
  std::chrono::seconds assertion_lifetime{300};
  AlgorithmPolicy policy; // for verifying AuthnRequests and choosing signature methods
  // Per-SP response options, by SP entityID; SPs not listed get `default_response`.
  std::vector<std::pair<std::string, ResponseOptions>> per_sp{};
  ResponseOptions default_response{};
  // Secret for pairwise-persistent NameIDs and subject-id / pairwise-id.
  std::string pairwise_secret{};
  std::string subject_id_scope{};        // scope of subject-id / pairwise-id, e.g. "servicekonto.example.de"
  std::size_t replay_cache_max = 100000; // request IDs remembered at most (fails closed when full)
  // Where request IDs are remembered instead of the IdP's own bounded map:
  // share one between IdP instances (e.g. rebuilt on a metadata refresh) or
  // nodes (Redis), so a request cannot be replayed across them.
  std::shared_ptr<ReplayCache> request_replay_cache{};
};

struct ReceivedAuthnRequest {
  std::string id;
  std::string issuer;
  std::string acs_url; // checked against the SP's metadata
  std::string relay_state;
  std::string binding; // how it arrived
  bool force_authn = false;
  bool is_passive = false;
  std::optional<std::string> name_id_format;
  std::vector<std::string> requested_class_refs;
  std::string comparison; // RequestedAuthnContext/@Comparison
  std::string xml;        // the request document, for inspection
  // samlp:Scoping
  std::optional<unsigned> proxy_count;
  std::vector<std::string> idp_list; // IDPList/IDPEntry/@ProviderID
  std::vector<std::string> requester_ids;
  // AKDB extension (akdb:AuthenticationRequest)
  std::optional<std::string> akdb_version;
  bool enable_status_detail = false;
  std::vector<RequestedAttribute> requested_attributes; // Name, is_required (RequiredAttribute)
};

// The lowest STORK-QAA level (1..4) a request's RequestedAuthnContext
// accepts: the lowest STORK class ref for Comparison exact/minimum (or
// none), one above it for "better" (5: nothing can satisfy it); nullopt for
// "maximum" or when no STORK level is named.
std::optional<int> requested_minimum_level(const ReceivedAuthnRequest &req);

struct AuthenticatedSubject {
  // Empty name_id: transient (random), or pairwise-persistent when the SP asks
  // for persistent (NameIDPolicy) or is configured so; that needs stable_key.
  std::string name_id;
  std::string name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
  std::string authn_context_class_ref;
  struct Attribute {
    std::string name;
    std::vector<std::string> values;
    std::string friendly_name;
    std::string trust_level; // akdb:TrustLevel
  };
  std::vector<Attribute> attributes;
  std::string session_index;
  std::string stable_key{}; // the user's stable identifier at this IdP (never sent as is)
  // A proxy names the IdP(s) that authenticated the user (AuthenticatingAuthority).
  std::vector<std::string> authenticating_authorities{};
};

class IdentityProvider {
public:
  IdentityProvider(IdpConfig config, std::shared_ptr<const Clock> clock = nullptr);
  ~IdentityProvider();

  // Parses and checks an AuthnRequest (HTTP-Redirect or HTTP-POST): known
  // SP, signature, Destination, IssueInstant window, ACS URL in metadata.
  ReceivedAuthnRequest receive_authn_request(const HttpRequest &req) const;

  // Builds the Response XML for a received request.
  std::string build_response(const ReceivedAuthnRequest &req, const AuthenticatedSubject &subject,
                             const ResponseOptions &opt) const;
  // The same with the options configured for the request's SP.
  std::string build_response(const ReceivedAuthnRequest &req, const AuthenticatedSubject &subject) const;
  // Builds a signed error Response (status code URI, e.g. status::responder)
  // with an optional second-level code (e.g. status::authn_failed). When the
  // request asked for it (EnableStatusDetail), samlp:StatusDetail carries an
  // akdb:StatusDetail JSON body listing `detail_codes` (default: the last
  // segment of the second-level code, else of the top-level code).
  std::string build_error_response(const ReceivedAuthnRequest &req, std::string_view status_code,
                                   std::string_view second_level = {},
                                   const std::vector<std::string> &detail_codes = {}) const;
  // The response options for an SP: per_sp entry, else default_response.
  ResponseOptions options_for(std::string_view sp_entity_id) const;
  // The signature method a Response for this SP is signed with.
  std::string signature_method_for(std::string_view sp_entity_id, const ResponseOptions &opt) const;
  // The POST-binding page carrying a Response to the SP's ACS URL.
  HttpResponse post_response(const ReceivedAuthnRequest &req, std::string_view response_xml) const;

  std::string metadata_xml() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace interkonto
