// SPDX-License-Identifier: EUPL-1.2
#pragma once
// The in-process proxy world shared by the proxy tests (test_proxy.cpp,
// test_proxy_concurrency.cpp), the proxy benchmark and the interop emitter:
//   portal of Thüringen (ServiceProvider)
//   -> Servicekonto Thüringen (Proxy: IdP toward the portal, SP toward NRW)
//   -> Servicekonto.NRW (IdentityProvider)
// Its entity IDs and URLs, and the parts of the parties' configurations
// every caller shares; each caller adds its own settings (keys, encryption,
// bindings, levels, audit) before it builds the parties.

#include <memory>
#include <utility>

#include "interkonto/attributes.hpp"
#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/sp.hpp"

namespace interkonto::test::proxy_world {

inline constexpr const char *kNrw = "https://idp.nrw.example/saml";
inline constexpr const char *kNrwSso = "https://idp.nrw.example/saml/sso";
inline constexpr const char *kProxyIdp = "https://sk.thueringen.example/idp";
inline constexpr const char *kProxySso = "https://sk.thueringen.example/proxy/sso";
inline constexpr const char *kProxySp = "https://sk.thueringen.example/sp";
inline constexpr const char *kProxyBase = "https://sk.thueringen.example";
inline constexpr const char *kProxyAcsPath = "/proxy/acs";
inline constexpr const char *kPortal = "https://portal.thueringen.example/sp";
inline constexpr const char *kPortalBase = "https://portal.thueringen.example";

// givenName, surname and the trust level go to the portal; birthdate is withheld.
inline constexpr const char *kAttributeMap = R"(
profiles: [servicekonto]
release:
  "https://portal.thueringen.example/sp":
    allow: [givenName, surname, trustLevel]
)";

// The EntityDescriptor an IdentityProvider with `config` publishes.
inline EntityPtr idp_entity(IdpConfig config, std::shared_ptr<const Clock> clock = nullptr) {
  return parse_metadata(IdentityProvider(std::move(config), std::move(clock)).metadata_xml()).front();
}

// The portal (kPortal at kPortalBase, signing its requests with `signing`),
// logging in at the proxy's IdP side only (pc.idps.front()).
inline SpConfig portal_config(const Credential &signing, EntityPtr proxy_idp) {
  SpConfig pc;
  pc.entity_id = kPortal;
  pc.base_url = kPortalBase;
  pc.signing = signing;
  IdpSettings to_proxy;
  to_proxy.entity = std::move(proxy_idp);
  pc.idps = {to_proxy};
  return pc;
}

// The proxy: its IdP side `idp` serving `portal`; its SP side kProxySp at
// kProxyBase (ACS kProxyAcsPath, metadata /proxy/sp/metadata, requests signed
// with `sp_signing`) with NRW (`nrw`) as its only and default upstream IdP
// (c.sp.idps.front()); releasing attributes by `attributes`.
inline ProxyConfig proxy_config(IdpConfig idp, EntityPtr portal, const Credential &sp_signing, EntityPtr nrw,
                                AttributeMap attributes) {
  ProxyConfig c(std::move(idp));
  c.idp.sps = {std::move(portal)};
  c.sp.entity_id = kProxySp;
  c.sp.base_url = kProxyBase;
  c.sp.acs_path = kProxyAcsPath;
  c.sp.metadata_path = "/proxy/sp/metadata";
  c.sp.signing = sp_signing;
  IdpSettings upstream;
  upstream.entity = std::move(nrw);
  c.sp.idps = {upstream};
  c.sp.default_idp = kNrw;
  c.attributes = std::move(attributes);
  return c;
}

} // namespace interkonto::test::proxy_world
