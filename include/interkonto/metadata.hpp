// SPDX-License-Identifier: EUPL-1.2
#pragma once
// SAML 2.0 metadata: the immutable entity model, the parser, and trust in a
// signed federation aggregate (FINK). Sources, refresh and MDQ are in
// metadata_provider.hpp.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/log.hpp"

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

// Key material from metadata: an X.509 certificate (ds:X509Certificate,
// kept as DER and parsed on first use, once, thread-safe) or a bare public
// key (ds:KeyValue, imported directly). Never re-parsed per use, never
// validated against any CA bundle. Copies share the parsed key.
class KeyMaterial {
public:
  static KeyMaterial from_certificate_der(std::string der);
  static KeyMaterial from_public_key(PublicKey key);

  // The public key; parses the certificate on first call. Throws
  // Error(config_invalid) when the certificate cannot be parsed.
  const PublicKey &public_key() const;
  // The certificate, when the key came as one (parsed on first call).
  std::optional<Certificate> certificate() const;
  bool has_certificate() const;
  // SHA-256 over the DER SubjectPublicKeyInfo, lower-case hex.
  std::string fingerprint() const;

private:
  struct State;
  std::shared_ptr<State> state_;
};

struct KeyDescriptor {
  enum class Use { any, signing, encryption } use = Use::any;
  KeyMaterial material;
  std::vector<EncryptionMethod> encryption_methods;

  const PublicKey &key() const { return material.public_key(); }
  std::optional<Certificate> certificate() const { return material.certificate(); }
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

struct LocalizedString {
  std::string lang; // xml:lang, may be empty
  std::string value;
};

// Picks the value in `lang`, else the first other one; nullptr when empty.
const LocalizedString *pick_lang(const std::vector<LocalizedString> &values, std::string_view lang);

struct Logo {
  std::string url;
  unsigned width = 0;
  unsigned height = 0;
  std::string lang;
};

// mdui:UIInfo of a role (or entity).
struct UiInfo {
  std::vector<LocalizedString> display_names;
  std::vector<LocalizedString> descriptions;
  std::vector<LocalizedString> information_urls;
  std::vector<LocalizedString> privacy_statement_urls;
  std::vector<Logo> logos;
};

struct Organization {
  std::vector<LocalizedString> names;
  std::vector<LocalizedString> display_names;
  std::vector<LocalizedString> urls;
};

struct ContactPerson {
  std::string type; // technical, support, administrative, billing, other
  std::string company;
  std::string given_name;
  std::string surname;
  std::vector<std::string> emails;
  std::vector<std::string> phones;
  std::string remd_type; // remd:contactType (e.g. security), if any
};

struct RequestedAttribute {
  std::string name;
  std::string name_format;
  std::string friendly_name;
  bool is_required = false;
};

struct AttributeConsumingService {
  unsigned index = 0;
  bool is_default = false;
  std::vector<LocalizedString> service_names;
  std::vector<LocalizedString> descriptions;
  std::vector<RequestedAttribute> requested;
};

struct RegistrationInfo {
  std::string authority;
  std::optional<TimePoint> instant;
};

struct Entity {
  std::string entity_id;
  std::string sha1_hex;                 // lower-case hex SHA-1 of entity_id (MDQ "{sha1}" form)
  std::optional<TimePoint> valid_until; // earliest validUntil of the entity, its roles and its ancestors
  std::optional<std::chrono::seconds> cache_duration; // shortest of the entity and its ancestors
  std::optional<IdpRole> idp;
  std::optional<SpRole> sp;
  std::optional<UiInfo> idp_ui; // mdui:UIInfo in the IDPSSODescriptor
  std::optional<UiInfo> sp_ui;  // mdui:UIInfo in the SPSSODescriptor
  Organization organization;
  std::vector<ContactPerson> contacts;
  // mdattr:EntityAttributes: attribute Name -> values, in document order.
  std::vector<std::pair<std::string, std::vector<std::string>>> entity_attributes;
  std::optional<RegistrationInfo> registration;
  std::vector<AttributeConsumingService> attribute_consuming_services; // SP role
  std::vector<Endpoint> discovery_responses;                           // idpdisc:DiscoveryResponse (SP role)

  bool valid_at(TimePoint now) const { return !valid_until || now < *valid_until; }
  bool has_entity_attribute(std::string_view name, std::string_view value) const;
  // Display name for people: mdui DisplayName of the given role in `lang`,
  // else in another language, else OrganizationDisplayName, else entityID.
  std::string display_name(std::string_view lang, bool prefer_idp = true) const;
};

using EntityPtr = std::shared_ptr<const Entity>;

// Parse a metadata document (EntityDescriptor or EntitiesDescriptor, nested)
// that the operator trusts as a local file (no signature needed). Throws
// Error(config_invalid) with a detail naming the problem; one malformed
// entity makes the whole file fail (use load_aggregate for feeds).
std::vector<EntityPtr> parse_metadata(std::string_view xml);
std::vector<EntityPtr> load_metadata_file(const std::string &path);

// SHA-1 of an entityID as lower-case hex (the MDQ "{sha1}" identifier).
std::string entity_id_sha1_hex(std::string_view entity_id);

// How a signed aggregate (or a signed single EntityDescriptor from MDQ) is
// trusted: its root signature must verify with one of the pinned keys (not
// PKIX; certificates are only carriers of keys).
struct AggregateTrust {
  std::vector<PublicKey> pinned_keys;
  AlgorithmPolicy policy;
  bool require_signature = true;
  bool require_valid_until = true;
  std::optional<std::chrono::seconds> max_validity; // refuse validUntil further ahead than this
  std::size_t max_size = 512 * 1024 * 1024;         // bytes
};

// Which entities of a feed are kept (applied at load).
struct EntityFilter {
  enum class Role { any, idp, sp } role = Role::any;
  std::vector<std::string> include;                  // entityIDs; empty: all
  std::vector<std::string> exclude;                  // entityIDs
  std::vector<std::string> registration_authorities; // empty: any
  // EntityAttributes that must be present (Name, Value) — all of them.
  std::vector<std::pair<std::string, std::string>> entity_attributes;

  bool matches(const Entity &e) const;
};

// An immutable, verified view of one metadata document. Lookups are O(1).
class MetadataSnapshot {
public:
  MetadataSnapshot(std::vector<EntityPtr> entities, std::optional<TimePoint> valid_until,
                   std::optional<std::chrono::seconds> cache_duration, std::string name,
                   std::vector<std::string> skipped, TimePoint loaded_at);

  EntityPtr find(std::string_view entity_id) const;                    // nullptr when absent
  EntityPtr find_sha1(std::string_view sha1_hex) const;                // "{sha1}" prefix allowed
  const std::vector<EntityPtr> &entities() const { return entities_; } // sorted by entityID
  std::vector<EntityPtr> select(const EntityFilter &filter) const;

  std::optional<TimePoint> valid_until() const { return valid_until_; }
  std::optional<std::chrono::seconds> cache_duration() const { return cache_duration_; }
  const std::string &name() const { return name_; }                    // EntitiesDescriptor Name
  const std::vector<std::string> &skipped() const { return skipped_; } // why entities were skipped
  TimePoint loaded_at() const { return loaded_at_; }
  bool valid_at(TimePoint now) const { return !valid_until_ || now < *valid_until_; }

private:
  std::vector<EntityPtr> entities_;
  std::unordered_map<std::string_view, EntityPtr> by_id_;
  std::unordered_map<std::string_view, EntityPtr> by_sha1_;
  std::optional<TimePoint> valid_until_;
  std::optional<std::chrono::seconds> cache_duration_;
  std::string name_;
  std::vector<std::string> skipped_;
  TimePoint loaded_at_;
};

using SnapshotPtr = std::shared_ptr<const MetadataSnapshot>;

// Verifies and parses a signed aggregate (EntitiesDescriptor, or a single
// EntityDescriptor as MDQ serves it). The whole document is refused
// (Error) when it is too large (too_large), not well-formed (malformed), has
// a DTD (dtd_forbidden), is unsigned (signature_missing), its signature does
// not verify with a pinned key (signature_invalid / untrusted_key), its
// Reference is not the root (wrapping), uses a refused algorithm
// (algorithm_refused), lacks a required validUntil or has one beyond
// max_validity (untrusted_metadata), or has expired (expired). An entity
// that is malformed is skipped (and logged); entities whose own validUntil
// has passed are skipped too. Entities not matching `filter` are dropped.
SnapshotPtr load_aggregate(std::string_view xml, const AggregateTrust &trust, TimePoint now,
                           const EntityFilter &filter = {}, const LogSink &log = nullptr);

// Builds and signs one EntitiesDescriptor from metadata documents (each an
// EntityDescriptor or EntitiesDescriptor; their signatures and validity
// attributes are dropped, the entities copied). Duplicate entityIDs are
// refused (Error config_invalid). The result has a generated ID, validUntil
// = now + valid_for, optional cacheDuration and Name, and an enveloped
// signature referencing "#ID" (exclusive c14n, SHA-256, the certificate in
// KeyInfo).
struct MetadataSignOptions {
  PrivateKey key;
  std::optional<Certificate> certificate;
  std::string signature_method{alg::rsa_sha256};
  std::chrono::seconds valid_for{std::chrono::hours(24 * 7)};
  std::optional<std::chrono::seconds> cache_duration;
  std::string name;
  TimePoint now;
};
std::string sign_aggregate(const std::vector<std::string> &documents, const MetadataSignOptions &options);
// Signs one EntityDescriptor on its own (an MDQ answer), same rules.
std::string sign_entity(std::string_view entity_descriptor_xml, const MetadataSignOptions &options);
// The EntityDescriptor of `entity_id` in a metadata document, serialised on
// its own (namespaces in scope declared on it, no XML declaration); empty
// when the document has no such entity. Parsed safely: throws Error
// (malformed, dtd_forbidden, too_large). Checks no signature (`show --xml`).
std::string extract_entity_xml(std::string_view document, std::string_view entity_id,
                               std::size_t max_size = 512 * 1024 * 1024);

// Parses ISO 8601 / xs:duration ("P7D", "PT6H", "P1DT2H30M", "PT0.5S");
// years and months are refused (their length varies). nullopt on error.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::seconds d); // "P1DT2H", "PT30M", "PT0S"

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
