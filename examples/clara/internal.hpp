// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal to the Clara parties: paths, the attribute vocabulary and the
// metadata building blocks shared by the three party classes.

#include <string>
#include <string_view>
#include <vector>

#include "clara/parties.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/sp.hpp"

namespace clara::detail {

inline constexpr std::string_view kIdpSso = "/idp/sso";
inline constexpr std::string_view kIdpMetadata = "/idp/metadata";
inline constexpr std::string_view kSpAcs = "/sp/acs";
inline constexpr std::string_view kSpLogin = "/sp/login";
inline constexpr std::string_view kSpMetadata = "/sp/metadata";
inline constexpr std::string_view kDiscovery = "/proxy/discovery";
inline constexpr std::string_view kContinue = "/proxy/continue";

// Servicekonto profile OIDs used by the demo.
namespace oid {
inline constexpr std::string_view given_name = "urn:oid:2.5.4.42";
inline constexpr std::string_view surname = "urn:oid:2.5.4.4";
inline constexpr std::string_view birthdate = "urn:oid:1.2.40.0.10.2.1.1.55";
inline constexpr std::string_view postal_address = "urn:oid:2.5.4.16";
inline constexpr std::string_view postal_code = "urn:oid:2.5.4.17";
inline constexpr std::string_view locality = "urn:oid:2.5.4.7";
inline constexpr std::string_view country = "urn:oid:1.2.40.0.10.2.1.1.225599";
inline constexpr std::string_view bpk2 = "urn:oid:1.3.6.1.4.1.25484.494450.3";
inline constexpr std::string_view trust_level = "urn:oid:1.2.40.0.10.2.1.1.261.94";
} // namespace oid

// German label of a Servicekonto attribute (by SAML Name), else its FriendlyName / Name.
std::string attribute_label(std::string_view name, std::string_view friendly_name);

// What the portal asks for (AKDB RequestedAttributes and md:RequestedAttribute).
struct PortalAttribute {
  std::string_view name;
  std::string_view friendly_name;
  bool required;
};
const std::vector<PortalAttribute> &portal_attributes();

// The key the party's peers encrypt to.
const interkonto::Credential &encryption_credential(const Common &c);
// RSASSA-PSS-SHA256 for RSA keys, ECDSA-SHA256 for EC keys.
std::string signature_method_for(const interkonto::Credential &c);

// The IdP settings of a party's IdP role (entityID, SSO URL, signing key,
// signed requests required); its SPs are the snapshot's SPs matching `sps`.
interkonto::IdpConfig idp_config(const Common &c, const interkonto::SnapshotPtr &snap,
                                 const interkonto::EntityFilter &sps);

// One EntityDescriptor with an IdP role (SSO at base + sso_path, Redirect
// and POST), mdui:DisplayName de/en, signing and encryption keys.
std::string idp_entity_xml(const Common &c);
// One EntityDescriptor with an SP role (ACS at base + /sp/acs); with
// `portal_service` an AttributeConsumingService naming the portal's attributes.
std::string sp_entity_xml(const Common &c, bool portal_service);

} // namespace clara::detail
