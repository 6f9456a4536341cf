// SPDX-License-Identifier: EUPL-1.2
// Metadata sources and the provider: HTTP fetches against a real HTTP/1.1
// server on loopback (conditional GET, size limit, stalls, outages), signed
// aggregates built here and verified against a pinned key, refresh by
// cacheDuration on a FixedClock, the backing file, and fail-closed expiry.

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"
#include "unit/http_test_server.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char *kSpId = "https://sp.thueringen.example/saml";
constexpr const char *kSp2Id = "https://portal.bayern.example/saml";

const Credential &operator_credential() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 4), "FINK metadata signer");
  return c;
}

std::string sp_metadata_xml(const std::string &entity_id) {
  return fmt::format(
      R"(<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{0}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{0}/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>)",
      entity_id);
}

std::vector<std::string> default_documents() {
  return {test::idp_metadata_xml(test::idp_credential()), sp_metadata_xml(kSpId)};
}

// A signed aggregate issued at `now`.
std::string aggregate(TimePoint now, std::chrono::seconds valid_for,
                      std::optional<std::chrono::seconds> cache_duration = std::nullopt,
                      const std::vector<std::string> &documents = default_documents(),
                      const Credential &signer = operator_credential()) {
  MetadataSignOptions o{.key = signer.key,
                        .certificate = signer.certificate,
                        .signature_method = std::string(alg::rsa_sha256),
                        .valid_for = valid_for,
                        .cache_duration = cache_duration,
                        .name = "urn:fink:test",
                        .now = now};
  return sign_aggregate(documents, o);
}

std::string unsigned_aggregate(TimePoint now) {
  std::string xml = fmt::format(
      R"(<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_unsigned" Name="urn:fink:test" validUntil="{}">)",
      format_datetime(now + 24h * 7));
  for (const auto &d : default_documents()) xml += d;
  return xml + "</md:EntitiesDescriptor>";
}

ProviderConfig provider_config(const std::string &backing = {}) {
  ProviderConfig c;
  c.trust.pinned_keys = {operator_credential().key.public_key()};
  c.backing_file = backing;
  return c;
}

HttpOptions fast_http() {
  HttpOptions o;
  o.connect_timeout = 1000ms;
  o.total_timeout = 2000ms;
  o.low_speed_window = 1s;
  return o;
}

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           fmt::format("interkonto-provider-{}-{}", ::getpid(), counter.fetch_add(1));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string file(const std::string &name) const { return (path / name).string(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    return out;
  }
};

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string &path, const std::string &content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

struct LogCapture {
  mutable std::mutex m;
  std::condition_variable cv;
  std::vector<std::pair<LogLevel, std::string>> entries;

  LogSink sink() {
    return [this](LogLevel level, std::string_view msg) {
      {
        std::lock_guard<std::mutex> lock(m);
        entries.emplace_back(level, std::string(msg));
      }
      cv.notify_all();
    };
  }
  std::size_t count(LogLevel level, std::string_view needle = {}) const {
    std::lock_guard<std::mutex> lock(m);
    std::size_t n = 0;
    for (const auto &[l, msg] : entries)
      if (l == level && msg.find(needle) != std::string::npos) ++n;
    return n;
  }
};

std::unique_ptr<MetadataSource> http_source(const test::HttpTestServer &server,
                                            const std::string &path = "/md",
                                            HttpOptions options = fast_http()) {
  return std::make_unique<HttpSource>(server.url(path), options);
}

bool starts_with(const std::string &s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

} // namespace

// ---------------------------------------------------------------------------
// http_get and the sources

TEST_CASE("http_get: status, body and validators from a real server", "[provider]") {
  test::HttpTestServer server;
  server.serve("/md", "<hello/>", "\"v1\"");

  const HttpResponseData r = http_get(server.url("/md"), fast_http());
  CHECK(r.status == 200);
  CHECK(r.body == "<hello/>");
  CHECK(r.etag == "\"v1\"");
  CHECK(r.last_modified == "Mon, 04 May 2026 10:00:00 GMT");
  CHECK(r.content_type == "application/samlmetadata+xml");
  REQUIRE(server.request_log().size() == 1);
  CHECK(server.request_log().back().header("User-Agent") == std::optional<std::string>("interkonto/0.1"));

  const HttpResponseData nm = http_get(server.url("/md"), fast_http(), {{"If-None-Match", "\"v1\""}});
  CHECK(nm.status == 304);
  CHECK(nm.body.empty());
  CHECK(nm.etag == "\"v1\"");
  CHECK(server.not_modified_sent() == 1);

  // Other statuses are returned, not thrown.
  CHECK(http_get(server.url("/nothing-here"), fast_http()).status == 404);
}

TEST_CASE("http_get: redirects are not followed, other schemes are refused", "[provider]") {
  test::HttpTestServer server;
  server.serve("/md", "<target/>", "\"t\"");
  server.handle("/moved", [&server](const test::TestRequest &) {
    return test::TestResponse{302, {{"Location", server.url("/md")}}, ""};
  });
  CHECK(http_get(server.url("/moved"), fast_http()).status == 302);
  CHECK(server.requests("/md") == 0);

  HttpSource moved(server.url("/moved"), fast_http());
  std::string detail;
  CHECK(test::code_of([&] { (void)moved.fetch({}, {}); }, &detail) == ErrorCode::config_invalid);
  CHECK(detail.find("302") != std::string::npos);
  CHECK(server.requests("/md") == 0);

  CHECK(test::code_of([] { (void)http_get("file:///etc/hostname", fast_http()); }) ==
        ErrorCode::config_invalid);
}

TEST_CASE("http_get: an unreachable server is a config_invalid error naming the URL", "[provider]") {
  test::HttpTestServer server;
  const std::string url = server.url("/md");
  server.stop(); // the port is closed now
  std::string detail;
  CHECK(test::code_of([&] { (void)http_get(url, fast_http()); }, &detail) == ErrorCode::config_invalid);
  CHECK(detail.find(url) != std::string::npos);
}

TEST_CASE("HttpSource: conditional GET with ETag and Last-Modified", "[provider]") {
  test::HttpTestServer server;
  server.serve("/md", "<v1/>", "\"v1\"");
  HttpSource source(server.url("/md"), fast_http());

  const FetchResult first = source.fetch({}, {});
  CHECK_FALSE(first.not_modified);
  CHECK(first.body == "<v1/>");
  CHECK(first.etag == "\"v1\"");
  CHECK(server.conditional_requests() == 0);

  const FetchResult second = source.fetch(first.etag, first.last_modified);
  CHECK(second.not_modified);
  CHECK(second.body.empty());
  CHECK(second.etag == "\"v1\"");
  CHECK(server.conditional_requests() == 1);
  const test::TestRequest last = server.request_log().back();
  CHECK(last.header("If-None-Match") == std::optional<std::string>("\"v1\""));
  CHECK(last.header("If-Modified-Since") == std::optional<std::string>(first.last_modified));

  // A changed document comes back in full.
  server.serve("/md", "<v2/>", "\"v2\"");
  const FetchResult third = source.fetch(first.etag, first.last_modified);
  CHECK_FALSE(third.not_modified);
  CHECK(third.body == "<v2/>");
  CHECK(third.etag == "\"v2\"");

  server.handle("/md", [](const test::TestRequest &) { return test::TestResponse{500, {}, "oops"}; });
  std::string detail;
  CHECK(test::code_of([&] { (void)source.fetch({}, {}); }, &detail) == ErrorCode::config_invalid);
  CHECK(detail.find("500") != std::string::npos);
}

TEST_CASE("HttpSource: an oversized document is too_large", "[provider]") {
  const bool announced = GENERATE(true, false); // with Content-Length, or ended by closing
  test::HttpTestServer server;
  const std::string big(256 * 1024, 'x');
  server.handle("/md", [&big, announced](const test::TestRequest &) {
    test::TestResponse r{200, {}, big};
    r.content_length = announced;
    return r;
  });
  HttpOptions o = fast_http();
  o.max_size = 16 * 1024;
  HttpSource source(server.url("/md"), o);
  INFO("Content-Length sent: " << announced);
  CHECK(test::code_of([&] { (void)source.fetch({}, {}); }) == ErrorCode::too_large);

  // Exactly at the limit is fine.
  o.max_size = big.size();
  HttpSource exact(server.url("/md"), o);
  CHECK(exact.fetch({}, {}).body.size() == big.size());
}

TEST_CASE("HttpSource: a stalling server ends in a timeout error", "[provider]") {
  const auto stall =
      GENERATE(test::TestResponse::Stall::before_headers, test::TestResponse::Stall::after_headers);
  test::HttpTestServer server;
  server.handle("/md", [stall](const test::TestRequest &) {
    test::TestResponse r{200, {}, std::string(4096, 'x')};
    r.stall = stall;
    return r;
  });
  HttpSource source(server.url("/md"), fast_http()); // 2 s total, 1 s under 1 KB/s
  std::string detail;
  INFO("stall after headers: " << (stall == test::TestResponse::Stall::after_headers));
  CHECK(test::code_of([&] { (void)source.fetch({}, {}); }, &detail) == ErrorCode::config_invalid);
  CHECK(detail.find("timeout") != std::string::npos);
  CHECK(server.requests("/md") == 1);
}

TEST_CASE("FileSource: content, validators, size limit", "[provider]") {
  TempDir dir;
  const std::string path = dir.file("md.xml");
  write_file(path, "<one/>");
  FileSource source(path);
  const FetchResult a = source.fetch({}, {});
  CHECK_FALSE(a.not_modified);
  CHECK(a.body == "<one/>");
  CHECK_FALSE(a.etag.empty());
  CHECK(source.fetch(a.etag, {}).not_modified);

  write_file(path, "<second/>");
  const FetchResult b = source.fetch(a.etag, {});
  CHECK_FALSE(b.not_modified);
  CHECK(b.body == "<second/>");
  CHECK(b.etag != a.etag);

  FileSource small(path, 4);
  CHECK(test::code_of([&] { (void)small.fetch({}, {}); }) == ErrorCode::too_large);
  FileSource missing(dir.file("absent.xml"));
  CHECK(test::code_of([&] { (void)missing.fetch({}, {}); }) == ErrorCode::config_invalid);
}

// ---------------------------------------------------------------------------
// MetadataProvider

TEST_CASE("MetadataProvider: a valid aggregate via HTTP", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  const std::string xml = aggregate(t0, 24h * 7, 6h);
  server.serve("/md", xml, "\"a1\"");
  TempDir dir;
  LogCapture logs;
  MetadataProvider p(http_source(server), provider_config(dir.file("backing.xml")), clock, logs.sink());

  CHECK(p.snapshot() == nullptr);
  CHECK_FALSE(p.health().usable);
  REQUIRE(p.initialize());
  const SnapshotPtr s = p.snapshot();
  REQUIRE(s != nullptr);
  CHECK(s->entities().size() == 2);
  REQUIRE(p.find(test::kIdp) != nullptr);
  CHECK(p.find(test::kIdp)->idp.has_value());
  CHECK(p.find(kSpId) != nullptr);
  CHECK(p.find("https://unknown.example") == nullptr);

  const MetadataHealth h = p.health();
  CHECK(h.usable);
  CHECK(h.last_success == std::optional<TimePoint>(t0));
  CHECK(h.last_attempt == std::optional<TimePoint>(t0));
  CHECK(h.next_refresh == std::optional<TimePoint>(t0 + 6h));
  CHECK(h.valid_until == std::optional<TimePoint>(t0 + 24h * 7));
  CHECK(h.time_left == std::optional<std::chrono::seconds>(24h * 7));
  CHECK(h.last_error.empty());
  CHECK(h.entities == 2);
  CHECK(h.skipped == 0);
  CHECK_FALSE(h.from_backing_file);
  CHECK(logs.count(LogLevel::info, "metadata loaded from") == 1);
  CHECK(logs.count(LogLevel::warning) == 0);
}

TEST_CASE("MetadataProvider: tampered, unsigned or wrongly signed aggregates are refused", "[provider]") {
  const TimePoint t0 = test::base_time();
  const std::string good = aggregate(t0, 24h * 7);
  struct Case {
    const char *name;
    std::string xml;
    std::vector<std::string> codes; // acceptable leading codes of last_error
  };
  const std::vector<Case> cases = {
      {"tampered",
       test::replace_once(good, "https://idp.nrw.example/saml/sso", "https://evil.example/saml/sso"),
       {"signature_invalid"}},
      {"unsigned", unsigned_aggregate(t0), {"signature_missing"}},
      {"wrong key",
       aggregate(t0, 24h * 7, std::nullopt, default_documents(), test::attacker_credential()),
       {"untrusted_key", "signature_invalid"}},
  };
  const std::size_t i = GENERATE(0u, 1u, 2u);
  const Case &c = cases.at(i);
  INFO(c.name);

  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", c.xml, "\"bad\"");
  TempDir dir;
  const std::string backing = dir.file("backing.xml");
  MetadataProvider p(http_source(server), provider_config(backing), clock);

  CHECK_FALSE(p.initialize());
  CHECK(p.snapshot() == nullptr);
  CHECK(p.find(test::kIdp) == nullptr);
  const MetadataHealth h = p.health();
  CHECK_FALSE(h.usable);
  CHECK_FALSE(h.last_success.has_value());
  CHECK(h.entities == 0);
  INFO("last_error: " << h.last_error);
  bool named = false;
  for (const auto &code : c.codes) named = named || starts_with(h.last_error, code + ":");
  CHECK(named);
  CHECK_FALSE(fs::exists(backing)); // nothing unverified is ever written
  CHECK(h.next_refresh == std::optional<TimePoint>(t0 + provider_config().retry_after_failure));

  // Not due before the retry time; once the server has a good aggregate, the retry loads it.
  server.serve("/md", good, "\"good\"");
  CHECK_FALSE(p.refresh_if_due());
  clock->advance(provider_config().retry_after_failure);
  CHECK(p.refresh_if_due());
  REQUIRE(p.snapshot() != nullptr);
  CHECK(p.health().last_error.empty());
  CHECK(read_file(backing) == good);
}

TEST_CASE("MetadataProvider: cacheDuration drives the refresh", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", aggregate(t0, 24h * 7, 6h), "\"a1\"");
  MetadataProvider p(http_source(server), provider_config(), clock);
  REQUIRE(p.initialize());
  CHECK(server.requests("/md") == 1);
  CHECK(p.health().next_refresh == std::optional<TimePoint>(t0 + 6h));

  clock->advance(1h);
  CHECK_FALSE(p.refresh_if_due());
  clock->advance(5h - 1s);
  CHECK_FALSE(p.refresh_if_due());
  CHECK(server.requests("/md") == 1);
  clock->advance(1s); // t0 + 6h: due
  CHECK(p.refresh_if_due());
  CHECK(server.requests("/md") == 2);
  CHECK(p.health().last_success == std::optional<TimePoint>(t0 + 6h));
  CHECK(p.health().next_refresh == std::optional<TimePoint>(t0 + 12h));
  CHECK_FALSE(p.refresh_if_due());
  CHECK(server.requests("/md") == 2);
}

TEST_CASE("MetadataProvider: refresh interval within bounds and before validUntil", "[provider]") {
  struct Case {
    std::optional<std::chrono::seconds> cache_duration;
    std::chrono::seconds valid_for;
    std::chrono::seconds expected;
  };
  // Bounds: min 5 min, max 24 h, default 1 h; at least 1 h (or 10 %) before validUntil.
  const Case c = GENERATE(values<Case>({
      {6h, 24h * 7, 6h},                           // as published
      {std::chrono::seconds(1min), 24h * 7, 5min}, // raised to min_refresh
      {24h * 3, 24h * 30, 24h},                    // lowered to max_refresh
      {std::nullopt, 24h * 7, 1h},                 // default_refresh
      {6h, 3h, 2h},                                // an hour before validUntil
      {24h, 20h, 18h},                             // 10 % of the validity before it
      {6h, std::chrono::seconds(30min), 5min},     // never sooner than min_refresh
  }));
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", aggregate(t0, c.valid_for, c.cache_duration), "\"a\"");
  MetadataProvider p(http_source(server), provider_config(), clock);
  REQUIRE(p.initialize());
  INFO("valid_for " << c.valid_for.count() << " s, expected " << c.expected.count() << " s");
  CHECK(p.health().next_refresh == std::optional<TimePoint>(t0 + c.expected));
}

TEST_CASE("MetadataProvider: 304 Not Modified keeps the snapshot object", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  const std::string xml = aggregate(t0, 24h * 7, 1h);
  server.serve("/md", xml, "\"a1\"");
  TempDir dir;
  MetadataProvider p(http_source(server), provider_config(dir.file("backing.xml")), clock);
  REQUIRE(p.initialize());
  const SnapshotPtr before = p.snapshot();
  REQUIRE(before != nullptr);

  clock->advance(1h);
  CHECK(p.refresh_if_due());
  CHECK(server.requests("/md") == 2);
  CHECK(server.conditional_requests() == 1);
  CHECK(server.not_modified_sent() == 1);
  CHECK(server.request_log().back().header("If-None-Match") == std::optional<std::string>("\"a1\""));
  CHECK(p.snapshot().get() == before.get());
  const MetadataHealth h = p.health();
  CHECK(h.last_success == std::optional<TimePoint>(t0 + 1h));
  CHECK(h.next_refresh == std::optional<TimePoint>(t0 + 2h));
  CHECK(h.last_error.empty());
  CHECK(read_file(dir.file("backing.xml")) == xml);
}

TEST_CASE("MetadataProvider: a new aggregate is swapped in and written atomically to the backing file",
          "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  const std::string v1 = aggregate(t0, 24h * 7, 1h);
  server.serve("/md", v1, "\"v1\"");
  TempDir dir;
  const std::string backing = dir.file("backing.xml");
  MetadataProvider p(http_source(server), provider_config(backing), clock);
  REQUIRE(p.initialize());
  CHECK(read_file(backing) == v1);
  CHECK(dir.names() == std::vector<std::string>{"backing.xml"}); // no temporary file left behind
  const SnapshotPtr old = p.snapshot();
  CHECK(old->find(kSp2Id) == nullptr);

  clock->advance(1h);
  std::vector<std::string> docs = default_documents();
  docs.push_back(sp_metadata_xml(kSp2Id));
  const std::string v2 = aggregate(clock->now(), 24h * 7, 1h, docs);
  server.serve("/md", v2, "\"v2\"");
  CHECK(p.refresh_now());
  const SnapshotPtr now = p.snapshot();
  REQUIRE(now != nullptr);
  CHECK(now.get() != old.get());
  CHECK(now->find(kSp2Id) != nullptr);
  CHECK(old->find(kSp2Id) == nullptr); // a reader holding the old snapshot still sees it whole
  CHECK(p.health().entities == 3);
  CHECK(read_file(backing) == v2);
  CHECK(dir.names() == std::vector<std::string>{"backing.xml"});
}

TEST_CASE("MetadataProvider: server down at start, valid backing file", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  const std::string xml = aggregate(t0, 24h * 7, 1h);
  server.serve("/md", xml, "\"a1\"");
  TempDir dir;
  const std::string backing = dir.file("backing.xml");
  {
    MetadataProvider first(http_source(server), provider_config(backing), clock);
    REQUIRE(first.initialize());
  }
  REQUIRE(read_file(backing) == xml);
  server.stop();
  clock->advance(24h);

  LogCapture logs;
  MetadataProvider p(http_source(server), provider_config(backing), clock, logs.sink());
  CHECK(p.initialize());
  REQUIRE(p.snapshot() != nullptr);
  CHECK(p.find(test::kIdp) != nullptr);
  MetadataHealth h = p.health();
  CHECK(h.usable);
  CHECK(h.from_backing_file);
  INFO("last_error: " << h.last_error);
  CHECK(starts_with(h.last_error, "config_invalid:"));
  CHECK(h.last_error.find(server.url("/md")) != std::string::npos);
  CHECK_FALSE(h.last_success.has_value());
  CHECK(h.next_refresh == std::optional<TimePoint>(clock->now() + provider_config().retry_after_failure));
  CHECK(logs.count(LogLevel::warning, "backing file") == 1);

  // The server is back: the next due refresh fetches from it.
  server.start();
  const SnapshotPtr backed = p.snapshot();
  clock->advance(provider_config().retry_after_failure);
  CHECK(p.refresh_if_due());
  h = p.health();
  CHECK_FALSE(h.from_backing_file);
  CHECK(h.last_error.empty());
  CHECK(h.last_success == std::optional<TimePoint>(clock->now()));
  CHECK(p.snapshot() != nullptr);
  CHECK(p.snapshot().get() != backed.get());
}

TEST_CASE("MetadataProvider: server down at start, expired backing file: fails closed", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  TempDir dir;
  const std::string backing = dir.file("backing.xml");
  // Issued eight days ago, valid for seven: correctly signed but expired.
  write_file(backing, aggregate(t0 - 24h * 8, 24h * 7, 1h));
  test::HttpTestServer server;
  server.stop();

  MetadataProvider p(http_source(server), provider_config(backing), clock);
  CHECK_FALSE(p.initialize());
  CHECK(p.snapshot() == nullptr);
  CHECK(p.find(test::kIdp) == nullptr);
  const MetadataHealth h = p.health();
  CHECK_FALSE(h.usable);
  CHECK_FALSE(h.from_backing_file);
  INFO("last_error: " << h.last_error);
  CHECK(starts_with(h.last_error, "config_invalid:"));
  CHECK(h.last_error.find("backing file: expired") != std::string::npos);
  CHECK(h.next_refresh == std::optional<TimePoint>(t0 + provider_config().retry_after_failure));
}

TEST_CASE("MetadataProvider: a failed refresh keeps the last good snapshot", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  const std::string good = aggregate(t0, 24h * 7, 1h);
  server.serve("/md", good, "\"good\"");
  TempDir dir;
  const std::string backing = dir.file("backing.xml");
  LogCapture logs;
  HttpOptions o = fast_http();
  o.max_size = good.size() + 4096;
  MetadataProvider p(http_source(server, "/md", o), provider_config(backing), clock, logs.sink());
  REQUIRE(p.initialize());
  const SnapshotPtr before = p.snapshot();
  REQUIRE(before != nullptr);
  clock->advance(1h);

  // The same outcome whatever went wrong: the old snapshot stays in use.
  const auto kept = [&](const std::string &expected_code) {
    CHECK_FALSE(p.refresh_now());
    CHECK(p.snapshot().get() == before.get());
    CHECK(p.find(test::kIdp) != nullptr);
    const MetadataHealth h = p.health();
    CHECK(h.usable);
    INFO("last_error: " << h.last_error);
    CHECK(starts_with(h.last_error, expected_code));
    CHECK(h.last_success == std::optional<TimePoint>(t0));
    CHECK(h.last_attempt == std::optional<TimePoint>(t0 + 1h));
    CHECK(h.next_refresh == std::optional<TimePoint>(t0 + 1h + provider_config().retry_after_failure));
    CHECK(read_file(backing) == good);
    CHECK(logs.count(LogLevel::warning, "keeping the last good snapshot") == 1);
  };
  SECTION("tampered new version") {
    std::vector<std::string> docs = default_documents();
    docs.push_back(sp_metadata_xml(kSp2Id));
    server.serve(
        "/md", test::replace_once(aggregate(clock->now(), 24h * 7, 1h, docs), kSp2Id, "https://evil.example"),
        "\"tampered\"");
    kept("signature_invalid:");
  }
  SECTION("server down") {
    server.stop();
    kept("config_invalid:");
  }
  SECTION("oversized new version") {
    server.serve("/md", good + std::string(64 * 1024, ' '), "\"big\"");
    kept("too_large:");
  }
  SECTION("expired new version") {
    server.serve("/md", aggregate(t0 - 24h * 8, 24h * 7, 1h), "\"old\"");
    kept("expired:");
  }
}

TEST_CASE("MetadataProvider: an oversized aggregate is refused as too_large", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  const std::string xml = aggregate(t0, 24h * 7);
  server.serve("/md", xml, "\"a\"");
  HttpOptions o = fast_http();
  o.max_size = xml.size() - 1;
  MetadataProvider p(http_source(server, "/md", o), provider_config(), clock);
  CHECK_FALSE(p.initialize());
  CHECK(p.snapshot() == nullptr);
  CHECK(starts_with(p.health().last_error, "too_large:"));
}

TEST_CASE("MetadataProvider: an expired snapshot is no longer trusted", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", aggregate(t0, 2h, 6h), "\"a\"");
  LogCapture logs;
  MetadataProvider p(http_source(server), provider_config(), clock, logs.sink());
  REQUIRE(p.initialize());
  CHECK(p.health().next_refresh == std::optional<TimePoint>(t0 + 1h));

  clock->advance(2h - 1ms);
  CHECK(p.snapshot() != nullptr);
  CHECK(p.find(test::kIdp) != nullptr);
  clock->advance(1ms); // validUntil reached
  CHECK(p.snapshot() == nullptr);
  CHECK(p.find(test::kIdp) == nullptr);
  CHECK(p.snapshot() == nullptr);
  const MetadataHealth h = p.health();
  CHECK_FALSE(h.usable);
  CHECK(h.time_left == std::optional<std::chrono::seconds>(0s));
  CHECK(logs.count(LogLevel::error, "refusing to use it") == 1); // once, not per call

  // The server still has the same (now expired) document: the refresh cannot revive it.
  CHECK_FALSE(p.refresh_now());
  CHECK(p.snapshot() == nullptr);
  CHECK(starts_with(p.health().last_error, "expired:"));
}

TEST_CASE("MetadataProvider: warns once per refresh attempt when validity runs short", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", aggregate(t0, 12h, 1h), "\"a\"");
  LogCapture logs;
  MetadataProvider p(http_source(server), provider_config(), clock, logs.sink()); // warning under 24 h
  REQUIRE(p.initialize());
  CHECK(logs.count(LogLevel::warning, "valid only until") == 1);
  (void)p.health();
  (void)p.health();
  CHECK(logs.count(LogLevel::warning, "valid only until") == 1);
  CHECK(p.health().time_left == std::optional<std::chrono::seconds>(12h));
  clock->advance(1h);
  CHECK(p.refresh_if_due());
  (void)p.health();
  CHECK(logs.count(LogLevel::warning, "valid only until") == 2);
}

TEST_CASE("MetadataProvider: no warning while validity is long", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", aggregate(t0, 48h, 1h), "\"a\"");
  LogCapture logs;
  MetadataProvider p(http_source(server), provider_config(), clock, logs.sink());
  REQUIRE(p.initialize());
  (void)p.health();
  CHECK(logs.count(LogLevel::warning) == 0);
  clock->advance(25h);
  (void)p.health();
  CHECK(logs.count(LogLevel::warning, "valid only until") == 1);
}

TEST_CASE("MetadataProvider: from a local file, unchanged files are not re-verified", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  TempDir dir;
  const std::string path = dir.file("aggregate.xml");
  write_file(path, aggregate(t0, 24h * 7, 1h));
  LogCapture logs;
  MetadataProvider p(std::make_unique<FileSource>(path), provider_config(), clock, logs.sink());
  REQUIRE(p.initialize());
  const SnapshotPtr first = p.snapshot();
  REQUIRE(first != nullptr);
  CHECK(p.refresh_now());
  CHECK(p.snapshot().get() == first.get());
  CHECK(logs.count(LogLevel::info, "metadata loaded") == 1);

  write_file(path, unsigned_aggregate(t0)); // replaced by an unsigned file: refused
  CHECK_FALSE(p.refresh_now());
  CHECK(p.snapshot().get() == first.get());
  CHECK(starts_with(p.health().last_error, "signature_missing:"));
}

TEST_CASE("MetadataProvider: the background thread refreshes when due", "[provider]") {
  const TimePoint t0 = test::base_time();
  auto clock = std::make_shared<FixedClock>(t0);
  test::HttpTestServer server;
  server.serve("/md", aggregate(t0, 24h * 7, 1h), "\"a\"");
  LogCapture logs;
  MetadataProvider p(http_source(server), provider_config(), clock, logs.sink());
  REQUIRE(p.initialize());
  REQUIRE(server.requests("/md") == 1);

  // Make the refresh due before the thread starts (the FixedClock is not
  // thread-safe to move while others read it).
  clock->advance(1h);
  p.start_background(10ms);
  {
    std::unique_lock<std::mutex> lock(logs.m);
    // Bounded wait for the event, not a timing assertion.
    logs.cv.wait_for(lock, 20s, [&] {
      for (const auto &[level, msg] : logs.entries)
        if (msg.find("not modified") != std::string::npos) return true;
      return false;
    });
  }
  p.stop_background();
  CHECK(server.requests("/md") == 2);
  CHECK(server.not_modified_sent() == 1);
  CHECK(p.health().next_refresh == std::optional<TimePoint>(t0 + 2h));
  p.stop_background(); // idempotent
}
