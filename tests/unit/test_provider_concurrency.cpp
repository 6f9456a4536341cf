// SPDX-License-Identifier: EUPL-1.2
// Logins while the metadata store refreshes: reader threads take the IdP
// from provider.snapshot() and validate SAML responses with it, while one
// thread keeps refreshing from a real HTTP server that alternates between two
// signed aggregates. Clean under the tsan preset; every loop is bounded.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/http_test_server.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;
using namespace std::chrono_literals;

namespace {

constexpr int kReaders = 4;
constexpr int kResponsesPerReader = 3;
constexpr int kRefreshes = 16;
constexpr int kMinReads = 8;   // per reader, even if the refresher is done early
constexpr int kMaxReads = 400; // per reader, whatever happens

std::string aggregate_with(TimePoint now, const std::vector<std::string> &extra_sps,
                           const Credential &signer) {
  std::vector<std::string> docs = {test::idp_metadata_xml(test::idp_credential())};
  for (const auto &id : extra_sps)
    docs.push_back(
        R"(<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID=")" + id +
        R"("><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location=")" +
        id + R"(/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>)");
  MetadataSignOptions o{.key = signer.key,
                        .certificate = signer.certificate,
                        .signature_method = std::string(alg::rsa_sha256),
                        .valid_for = std::chrono::hours(24 * 7),
                        .cache_duration = std::chrono::seconds(3600),
                        .name = "urn:fink:test",
                        .now = now};
  return sign_aggregate(docs, o);
}

} // namespace

TEST_CASE("MetadataProvider: logins validate against snapshots while the store refreshes", "[concurrency]") {
  const Credential signer = test::self_signed_cert(test::rsa_key(2048, 4), "FINK metadata signer");
  const TimePoint issued = test::base_time();
  const std::string agg_a = aggregate_with(issued, {"https://sp-a.example/saml"}, signer);
  const std::string agg_b =
      aggregate_with(issued, {"https://sp-a.example/saml", "https://sp-b.example/saml"}, signer);

  // The server alternates: every fetch gets the other aggregate (new ETag), so
  // every refresh parses, verifies and swaps in a new snapshot.
  test::HttpTestServer server;
  std::atomic<int> served{0};
  server.handle("/md", [&](const test::TestRequest &) {
    const bool a = (served.fetch_add(1) % 2) == 0;
    return test::TestResponse{200, {{"ETag", a ? "\"a\"" : "\"b\""}}, a ? agg_a : agg_b};
  });

  // Responses are built before the threads start (distinct assertion IDs).
  std::vector<std::vector<std::string>> responses(kReaders);
  for (int r = 0; r < kReaders; ++r)
    for (int k = 0; k < kResponsesPerReader; ++k) {
      test::ResponseSpec spec;
      spec.response_id = "_resp-p" + std::to_string(r) + "-" + std::to_string(k);
      spec.assertion_id = "_assert-p" + std::to_string(r) + "-" + std::to_string(k);
      responses[static_cast<std::size_t>(r)].push_back(test::build_response(spec));
    }

  // The clock stands still during the threads: validation time and the
  // snapshot's validity use the same instant.
  auto clock = std::make_shared<const FixedClock>(test::base_check().now);
  ProviderConfig config;
  config.trust.pinned_keys = {signer.key.public_key()};
  HttpOptions http;
  http.connect_timeout = 2000ms;
  http.total_timeout = 10000ms;
  http.low_speed_window = 5s;
  MetadataProvider provider(std::make_unique<HttpSource>(server.url("/md"), http), config, clock);
  REQUIRE(provider.initialize());

  auto replay = std::make_shared<InMemoryReplayCache>();
  const ResponseCheck check = test::base_check();
  const std::vector<PrivateKey> decryption = {test::sp_encryption_credential().key};

  std::atomic<bool> refresher_done{false};
  std::atomic<int> refresh_ok{0};
  std::atomic<int> reads{0};
  std::atomic<int> null_snapshot{0};
  std::atomic<int> missing_idp{0};
  std::atomic<int> accepted{0};
  std::atomic<int> replayed{0};
  std::atomic<int> other_error{0};
  std::atomic<int> saw_two{0};
  std::atomic<int> saw_three{0};

  std::latch start(kReaders + 1);
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    start.arrive_and_wait();
    for (int i = 0; i < kRefreshes; ++i)
      if (provider.refresh_now()) refresh_ok.fetch_add(1);
    refresher_done.store(true);
  });
  for (int r = 0; r < kReaders; ++r)
    threads.emplace_back([&, r] {
      start.arrive_and_wait();
      const auto &mine = responses[static_cast<std::size_t>(r)];
      for (int i = 0; i < kMaxReads && (i < kMinReads || !refresher_done.load()); ++i) {
        reads.fetch_add(1);
        const SnapshotPtr snap = provider.snapshot();
        if (!snap) {
          null_snapshot.fetch_add(1);
          continue;
        }
        (snap->entities().size() == 2 ? saw_two : saw_three).fetch_add(1);
        EntityPtr idp = snap->find(test::kIdp);
        if (!idp || !idp->idp) {
          missing_idp.fetch_add(1);
          continue;
        }
        IdpSettings settings;
        settings.entity = std::move(idp);
        try {
          const ResponseValidator validator({settings}, decryption, replay);
          (void)validator.validate(mine[static_cast<std::size_t>(i % kResponsesPerReader)], check);
          accepted.fetch_add(1);
        } catch (const Error &e) {
          (e.code() == ErrorCode::replayed ? replayed : other_error).fetch_add(1);
        } catch (...) {
          other_error.fetch_add(1);
        }
      }
    });
  for (auto &t : threads) t.join();

  INFO("reads " << reads.load() << ", accepted " << accepted.load() << ", replayed " << replayed.load());
  CHECK(refresh_ok.load() == kRefreshes);
  CHECK(server.requests("/md") == static_cast<std::size_t>(kRefreshes + 1));
  CHECK(null_snapshot.load() == 0);
  CHECK(missing_idp.load() == 0);
  CHECK(other_error.load() == 0);
  // Every distinct assertion was accepted exactly once; all repeats were replays.
  CHECK(accepted.load() == kReaders * kResponsesPerReader);
  CHECK(accepted.load() + replayed.load() == reads.load());
  CHECK(saw_two.load() + saw_three.load() == reads.load());
  CHECK(provider.health().last_error.empty());
  CHECK(provider.snapshot() != nullptr);
}
