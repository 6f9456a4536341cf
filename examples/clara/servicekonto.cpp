// SPDX-License-Identifier: EUPL-1.2
// Servicekonto Thüringen: the IdP/SP proxy between the Land's portals and
// the other Servicekonten of the federation, with discovery.

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "clara/internal.hpp"
#include "clara/page.hpp"
#include "clara/parties.hpp"
#include "interkonto/attributes.hpp"
#include "interkonto/discovery.hpp"
#include "interkonto/error.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/session.hpp"

namespace clara {

using interkonto::HttpRequest;
using interkonto::HttpResponse;
using namespace detail;

namespace {

// Built-in Servicekonto vocabulary plus what each portal may receive.
interkonto::AttributeMap attribute_map(const std::vector<std::string> &portals) {
  std::string yaml = "profiles: [servicekonto]\nrelease:\n";
  for (const auto &p : portals) {
    if (p.find_first_of("\"\\\n") != std::string::npos)
      throw interkonto::Error(interkonto::ErrorCode::config_invalid, "portal entityID with quotes");
    yaml += fmt::format("  \"{}\":\n    allow: [givenName, surname, birthdate, postalAddress, postalCode, "
                        "localityName, country, trustLevel]\n",
                        p);
  }
  if (portals.empty()) yaml += "  \"*\":\n    allow: [trustLevel]\n";
  return interkonto::AttributeMap::from_yaml(yaml);
}

} // namespace

struct Servicekonto::Impl {
  Common c;
  std::vector<std::string> portals;
  std::string idp_id;
  std::string sp_id;
  std::shared_ptr<const interkonto::Clock> clock;
  std::string pairwise_secret = interkonto::random_id() + interkonto::random_id();
  interkonto::AttributeMap attributes;

  // Shared by every Proxy built, so logins in flight survive a metadata refresh.
  std::shared_ptr<interkonto::InMemoryPendingStore> pending =
      std::make_shared<interkonto::InMemoryPendingStore>();
  std::shared_ptr<interkonto::SessionStore> sessions = std::make_shared<interkonto::InMemorySessionStore>();
  std::shared_ptr<interkonto::RequestTracker> tracker =
      std::make_shared<interkonto::InMemoryRequestTracker>();
  std::shared_ptr<interkonto::ReplayCache> replay = std::make_shared<interkonto::InMemoryReplayCache>();
  std::shared_ptr<const interkonto::Discovery> discovery;    // over the federation's IdPs (own one excluded)
  std::shared_ptr<const interkonto::IdpDirectory> upstreams; // the same IdPs, for the SP side

  mutable std::mutex mu;
  mutable interkonto::SnapshotPtr built_for;
  mutable std::shared_ptr<const interkonto::Proxy> proxy;

  Impl(Common common, std::vector<std::string> p, std::string cookie_secret)
      : c(std::move(common)), portals(std::move(p)), idp_id(idp_entity_id(c.base_url)),
        sp_id(sp_entity_id(c.base_url)),
        clock(c.clock ? c.clock : std::make_shared<interkonto::SystemClock>()),
        attributes(attribute_map(portals)) {
    if (!c.federation) return; // every page is the 503 page
    interkonto::EntityFilter others;
    others.role = interkonto::EntityFilter::Role::idp;
    others.exclude = {idp_id};

    interkonto::DiscoveryConfig dc;
    dc.page_path = std::string(kDiscovery);
    dc.login_path = std::string(kSpLogin);
    dc.cookie_secret = cookie_secret.size() >= 32 ? std::move(cookie_secret)
                                                  : interkonto::random_id() + interkonto::random_id();
    dc.development_insecure_http = c.development_insecure_http;
    dc.filter = others;
    discovery = std::make_shared<const interkonto::Discovery>(c.federation, dc, clock, c.log);

    interkonto::IdpSettings defaults;
    defaults.authn_request_binding = std::string(interkonto::binding::redirect);
    defaults.authn_request_signature_method = signature_method_for(c.saml);
    defaults.sign_authn_requests = true;
    defaults.require_encrypted_assertion = true;
    upstreams = interkonto::make_federation_idp_directory(c.federation, defaults, others);
  }

  std::shared_ptr<const interkonto::Proxy> proxy_for(const interkonto::SnapshotPtr &snap) const {
    const std::lock_guard<std::mutex> lock(mu);
    if (snap == built_for && proxy) return proxy;
    interkonto::EntityFilter portal_filter;
    portal_filter.role = interkonto::EntityFilter::Role::sp;
    portal_filter.include = portals;
    if (portals.empty()) portal_filter.exclude = {sp_id};
    interkonto::ProxyConfig pc(idp_config(c, snap, portal_filter));
    pc.idp.default_response.encrypt_assertion = true; // signed (PSS/ECDSA), then AES-GCM encrypted
    pc.idp.pairwise_secret = pairwise_secret;
    pc.idp.request_replay_cache = replay; // portal request IDs stay used across rebuilds
    pc.idp.subject_id_scope = host_of(c.base_url);
    pc.sso_path = std::string(kIdpSso);
    pc.idp_metadata_path = std::string(kIdpMetadata);
    pc.continue_path = std::string(kContinue);
    pc.sp.entity_id = sp_id;
    pc.sp.base_url = c.base_url;
    pc.sp.acs_path = std::string(kSpAcs);
    pc.sp.login_path = std::string(kSpLogin);
    pc.sp.metadata_path = std::string(kSpMetadata);
    pc.sp.signing = c.saml;
    pc.sp.decryption = {encryption_credential(c)};
    if (c.encryption) pc.sp.decryption.push_back(c.saml);
    pc.sp.idp_directory = upstreams;
    pc.sp.discovery = discovery;
    pc.sp.development_insecure_http = c.development_insecure_http;
    pc.attributes = attributes;
    proxy = std::make_shared<const interkonto::Proxy>(std::move(pc), pending, sessions, tracker, replay,
                                                      clock, c.log);
    built_for = snap;
    return proxy;
  }

  HttpResponse start_page() const {
    Page p;
    p.party = c.display_name;
    p.title = c.display_name;
    p.content = fmt::format("<h1>{}</h1>\n<p>Über {} melden Sie sich bei den Online-Diensten des Landes an – "
                            "auch mit dem Nutzerkonto eines anderen Landes (FINK).</p>\n",
                            esc(c.display_name), esc(c.display_name));
    return render(p);
  }
};

Servicekonto::Servicekonto(Common common, std::vector<std::string> portals,
                           std::string discovery_cookie_secret)
    : impl_(std::make_unique<Impl>(std::move(common), std::move(portals),
                                   std::move(discovery_cookie_secret))) {}

Servicekonto::~Servicekonto() = default;

HttpResponse Servicekonto::handle(const HttpRequest &req) const {
  const Impl &m = *impl_;
  try {
    if (req.path == kIdpMetadata || req.path == kSpMetadata)
      return metadata_document(req.path == kIdpMetadata ? idp_entity_xml(m.c) : sp_entity_xml(m.c, false));
    const interkonto::SnapshotPtr snap = m.c.federation ? m.c.federation->snapshot() : nullptr;
    if (!snap) return federation_unavailable(m.c.display_name);
    if (req.path == "/") return m.start_page();
    return m.proxy_for(snap)->handle(req);
  } catch (const std::exception &e) {
    return internal_error(m.c.display_name, m.c.log, "clara servicekonto", e);
  }
}

} // namespace clara
