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
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/http.hpp"
#include "interkonto/metadata.hpp"

namespace interkonto {

struct IdpConfig {
  std::string entity_id;
  std::string sso_url; // where AuthnRequests arrive (Destination)
  Credential signing;
  std::vector<EntityPtr> sps; // known SPs (from metadata)
  bool require_signed_requests = true;
  std::chrono::seconds clock_skew{180};
  std::chrono::seconds assertion_lifetime{300};
  AlgorithmPolicy policy; // for verifying AuthnRequests
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
};

struct AuthenticatedSubject {
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
};

struct ResponseOptions {
  std::string signature_method{alg::rsa_sha256};
  std::string digest_method{alg::sha256};
  bool sign_assertion = true;
  bool sign_response = false;
  bool encrypt_assertion = false;
  std::string data_encryption{alg::aes256_gcm};
  std::string key_transport{alg::rsa_oaep};
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
  // Builds an error Response (status code URI, e.g. ...:status:Responder) with optional second-level code.
  std::string build_error_response(const ReceivedAuthnRequest &req, std::string_view status_code,
                                   std::string_view second_level = {}) const;
  // The POST-binding page carrying a Response to the SP's ACS URL.
  HttpResponse post_response(const ReceivedAuthnRequest &req, std::string_view response_xml) const;

  std::string metadata_xml() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace interkonto
