// SPDX-License-Identifier: EUPL-1.2
#pragma once
// SAML 2.0 metadata: the immutable entity model. This first version reads
// local metadata files (an EntityDescriptor or an EntitiesDescriptor) that
// the operator trusts as files; signed federation aggregates, refresh and
// MDQ build on the same model.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"

namespace interkonto {

namespace binding {
inline constexpr std::string_view redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
inline constexpr std::string_view post = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
inline constexpr std::string_view artifact = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact";
} // namespace binding

struct Endpoint {
  std::string binding;
  std::string location;
  std::string response_location;
  std::optional<unsigned> index;
  bool is_default = false;
};

struct EncryptionMethod {
  std::string algorithm;
  std::string digest; // ds:DigestMethod child (OAEP), may be empty
  std::string mgf;    // xenc11:MGF child, may be empty
};

struct KeyDescriptor {
  enum class Use { any, signing, encryption } use = Use::any;
  PublicKey key;
  std::optional<Certificate> certificate;
  std::vector<EncryptionMethod> encryption_methods;
};

struct RoleDescriptor {
  std::vector<KeyDescriptor> keys;
  std::vector<std::string> name_id_formats;
  std::vector<std::string> signing_methods; // alg:SigningMethod (role or entity Extensions)
  std::vector<std::string> digest_methods;  // alg:DigestMethod

  std::vector<PublicKey> signing_keys() const;                // use=signing or unspecified
  std::vector<const KeyDescriptor *> encryption_keys() const; // use=encryption or unspecified
};

struct IdpRole : RoleDescriptor {
  std::vector<Endpoint> sso;
  std::vector<Endpoint> slo;
  bool want_authn_requests_signed = false;
  const Endpoint *sso_endpoint(std::string_view binding) const;
};

struct SpRole : RoleDescriptor {
  std::vector<Endpoint> acs;
  std::vector<Endpoint> slo;
  bool authn_requests_signed = false;
  bool want_assertions_signed = false;
  // ACS by index, or the default one (isDefault, else lowest index, else first).
  const Endpoint *acs_endpoint(std::optional<unsigned> index) const;
  bool has_acs_location(std::string_view location) const;
};

struct Entity {
  std::string entity_id;
  std::optional<TimePoint> valid_until; // earliest validUntil of the entity and its ancestors
  std::optional<IdpRole> idp;
  std::optional<SpRole> sp;

  bool valid_at(TimePoint now) const { return !valid_until || now < *valid_until; }
};

using EntityPtr = std::shared_ptr<const Entity>;

// Parse a metadata document (EntityDescriptor or EntitiesDescriptor, nested).
// Throws Error(config_invalid) with a detail naming the problem.
std::vector<EntityPtr> parse_metadata(std::string_view xml);
std::vector<EntityPtr> load_metadata_file(const std::string &path);

// Generates SP metadata (the `interkonto sp-metadata` command and the SP's
// metadata endpoint).
struct SpMetadataOptions {
  std::string entity_id;
  std::vector<std::string> acs_urls; // HTTP-POST
  std::optional<Certificate> signing_certificate;
  std::vector<Certificate> encryption_certificates;
  std::vector<std::string> name_id_formats;
  bool authn_requests_signed = true;
  bool want_assertions_signed = true;
  std::string organization_name;
  std::string organization_display_name;
  std::string organization_url;
  std::string technical_contact_email;
};
std::string make_sp_metadata(const SpMetadataOptions &opt);

} // namespace interkonto
