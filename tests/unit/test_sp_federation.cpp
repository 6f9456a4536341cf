// SPDX-License-Identifier: EUPL-1.2
// The SP takes its trusted IdPs from the federation's metadata provider.

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <fstream>

#include "interkonto/metadata_provider.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using namespace interkonto::test;

namespace {

const Credential &fink() {
  static const Credential c = self_signed_cert(rsa_key(2048, 8), "FINK operator (test)");
  return c;
}

// A signed aggregate holding the fixture IdP, valid until `valid_until`.
std::string aggregate(const std::string &valid_until) {
  std::string idp = idp_metadata_xml(idp_credential());
  // the fixture's EntityDescriptor declares its own namespaces: embed as is
  const std::string xml = fmt::format(
      R"(<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_fed" validUntil="{}">{}</md:EntitiesDescriptor>)",
      valid_until, idp);
  xml::DocPtr doc = xml::parse(xml, 1 << 22);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  xmlsec::sign_enveloped(doc.get(), root, nullptr, fink().key, alg::rsa_sha256, alg::sha256, nullptr);
  return xml::serialize(doc.get());
}

std::string write_temp(const std::string &content) {
  char name[] = "/tmp/interkonto-fed-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name, std::ios::binary) << content;
  return name;
}

} // namespace

TEST_CASE("the SP trusts exactly the IdPs of the federation snapshot", "[sp][federation]") {
  const std::string path = write_temp(aggregate("2026-05-11T10:00:00Z"));
  auto clock = std::make_shared<FixedClock>(base_time());
  ProviderConfig pc;
  pc.trust.pinned_keys = {fink().key.public_key()};
  auto provider = std::make_shared<MetadataProvider>(std::make_unique<FileSource>(path), pc, clock);
  REQUIRE(provider->initialize());

  auto directory = make_federation_idp_directory(provider, IdpSettings{});
  ResponseValidator v(directory, {sp_encryption_credential().key}, std::make_shared<InMemoryReplayCache>());
  auto check = base_check();

  SECTION("a member IdP is accepted") {
    CHECK(v.validate(build_response(ResponseSpec{}), check).issuer == kIdp);
  }
  SECTION("an IdP outside the federation is unknown") {
    ResponseSpec s;
    s.issuer = "https://idp.elsewhere.example";
    s.response_issuer = s.issuer;
    CHECK(code_of([&] { (void)v.validate(build_response(s), check); }) == ErrorCode::unknown_issuer);
  }
  SECTION("once the federation metadata expires, nothing is trusted (fail closed)") {
    clock->set(*parse_datetime("2026-05-11T10:00:00Z"));
    check.now = clock->now();
    ResponseSpec s;
    s.issued = clock->now() - std::chrono::seconds(10);
    CHECK(code_of([&] { (void)v.validate(build_response(s), check); }) == ErrorCode::untrusted_metadata);
  }
  std::remove(path.c_str());
}
