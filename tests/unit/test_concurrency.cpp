// SPDX-License-Identifier: EUPL-1.2
// Shared objects used from several threads at once: the response validator,
// the stores and the ServiceProvider. These also run under ThreadSanitizer,
// so they stay small: messages are built before the threads start, and every
// loop is bounded.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;
using namespace std::chrono_literals;

namespace {

constexpr int kThreads = 8;

// Runs fn(i) on n threads that start together; joins them all. Catch2 v2
// assertions are not thread-safe: fn records results, the test checks them
// after the join.
template <class Fn> void run_threads(int n, Fn fn) {
  std::latch start(n);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&start, &fn, i] {
      start.arrive_and_wait();
      fn(i);
    });
  for (auto &t : threads) t.join();
}

std::size_t idx(int i) {
  return static_cast<std::size_t>(i);
}

// The spec's response with its assertion signed, then encrypted for the SP
// (AES-256-GCM, RSA-OAEP). Done here rather than with spec.encrypt: the
// fixture names EncryptedAssertion with the Assertion's own xmlNs, which
// encryption frees.
std::string encrypted_response(test::ResponseSpec spec) {
  spec.encrypt = false;
  const std::string plain = test::build_response(spec);
  xml::DocPtr doc = xml::parse(plain, 1 << 20);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  xmlNode *assertion = xml::first_child(root, xml::ns_saml, "Assertion");
  REQUIRE(assertion != nullptr);
  xmlNs *saml = xmlSearchNsByHref(doc.get(), root, reinterpret_cast<const xmlChar *>(xml::ns_saml));
  REQUIRE(saml != nullptr);
  xmlNode *ea =
      xmlNewDocNode(doc.get(), saml, reinterpret_cast<const xmlChar *>("EncryptedAssertion"), nullptr);
  xmlAddPrevSibling(assertion, ea);
  xmlUnlinkNode(assertion);
  xmlAddChild(ea, assertion);
  const Credential &rcpt = test::sp_encryption_credential();
  xmlsec::encrypt_element(doc.get(), assertion, rcpt.key.public_key(), xmlsec::EncryptionParams{},
                          &*rcpt.certificate);
  return xml::serialize(doc.get(), root);
}

} // namespace

TEST_CASE("One ResponseValidator, 8 threads, distinct assertions: all accepted", "[concurrency]") {
  // Built outside the threads: half signed, half signed and encrypted.
  std::vector<std::string> responses;
  for (int i = 0; i < kThreads; ++i) {
    test::ResponseSpec spec;
    spec.response_id = "_resp-c" + std::to_string(i);
    spec.assertion_id = "_assert-c" + std::to_string(i);
    spec.name_id = "subject-" + std::to_string(i);
    responses.push_back((i % 2) == 1 ? encrypted_response(spec) : test::build_response(spec));
  }
  auto replay = std::make_shared<InMemoryReplayCache>();
  const ResponseValidator validator(test::idp_settings(), {test::sp_encryption_credential().key}, replay);
  const ResponseCheck check = test::base_check();

  std::vector<std::optional<AuthnResult>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  run_threads(kThreads, [&](int i) {
    try {
      results[idx(i)] = validator.validate(responses[idx(i)], check);
    } catch (const std::exception &e) {
      errors[idx(i)] = e.what();
    }
  });
  for (int i = 0; i < kThreads; ++i) {
    INFO("thread " << i << ": " << errors[idx(i)]);
    REQUIRE(results[idx(i)].has_value());
    CHECK(results[idx(i)]->assertion_id == "_assert-c" + std::to_string(i));
    CHECK(results[idx(i)]->name_id == "subject-" + std::to_string(i));
    CHECK(results[idx(i)]->was_encrypted == ((i % 2) == 1));
    REQUIRE(results[idx(i)]->attribute("urn:oid:2.5.4.42") != nullptr);
    CHECK(results[idx(i)]->attribute("urn:oid:2.5.4.42")->values == std::vector<std::string>{"Clara"});
  }
  CHECK(replay->size() == static_cast<std::size_t>(kThreads));
}

TEST_CASE("8 threads race to use the same assertion: exactly one wins", "[concurrency]") {
  const bool encrypted = GENERATE(false, true);
  test::ResponseSpec spec;
  spec.assertion_id = encrypted ? "_assert-race-enc" : "_assert-race";
  const std::string response = encrypted ? encrypted_response(spec) : test::build_response(spec);
  auto replay = std::make_shared<InMemoryReplayCache>();
  const ResponseValidator validator(test::idp_settings(), {test::sp_encryption_credential().key}, replay);
  const ResponseCheck check = test::base_check();

  std::atomic<int> accepted{0};
  std::atomic<int> replayed{0};
  std::atomic<int> other{0};
  run_threads(kThreads, [&](int) {
    try {
      (void)validator.validate(response, check);
      accepted.fetch_add(1);
    } catch (const Error &e) {
      (e.code() == ErrorCode::replayed ? replayed : other).fetch_add(1);
    } catch (...) {
      other.fetch_add(1);
    }
  });
  CHECK(accepted.load() == 1);
  CHECK(replayed.load() == kThreads - 1);
  CHECK(other.load() == 0);
  CHECK(replay->size() == 1);
}

TEST_CASE("InMemoryReplayCache from 8 threads: each ID accepted once", "[concurrency]") {
  InMemoryReplayCache cache;
  const TimePoint now = test::base_time();
  constexpr int kIds = 200;
  std::atomic<int> inserted{0};
  std::atomic<int> own{0};
  std::atomic<int> late{0};
  std::vector<int> per_thread(kThreads, 0);
  run_threads(kThreads, [&](int t) {
    for (int k = 0; k < kIds; ++k) {
      // Every thread tries every ID (in a different order), plus one of its own.
      const int id = (k + t * 25) % kIds;
      if (cache.insert("https://idp.example", "_a" + std::to_string(id), now + 5min, now)) {
        inserted.fetch_add(1);
        ++per_thread[idx(t)];
      }
    }
    if (cache.insert("https://idp.example", "_own" + std::to_string(t), now + 5min, now)) own.fetch_add(1);
  });
  CHECK(own.load() == kThreads);
  CHECK(inserted.load() == kIds);
  CHECK(cache.size() == static_cast<std::size_t>(kIds + kThreads));
  int sum = 0;
  for (int n : per_thread) sum += n;
  CHECK(sum == kIds);
  // After expiry, concurrent inserts purge the old entries.
  run_threads(kThreads, [&](int t) {
    if (cache.insert("https://idp.example", "_late" + std::to_string(t), now + 20min, now + 10min))
      late.fetch_add(1);
  });
  CHECK(late.load() == kThreads);
  CHECK(cache.size() == static_cast<std::size_t>(kThreads));
}

TEST_CASE("InMemoryRequestTracker from 8 threads: every request taken exactly once", "[concurrency]") {
  InMemoryRequestTracker tracker;
  const TimePoint now = test::base_time();
  constexpr int kPerThread = 50;
  // Phase 1: every thread puts its own requests.
  run_threads(kThreads, [&](int t) {
    for (int k = 0; k < kPerThread; ++k) {
      PendingRequest p;
      p.request_id = "_r" + std::to_string(t) + "-" + std::to_string(k);
      p.browser_binding = "b" + std::to_string(t);
      p.expires = now + 10min;
      tracker.put(std::move(p));
    }
  });
  REQUIRE(tracker.size() == static_cast<std::size_t>(kThreads * kPerThread));
  // Phase 2: every thread tries to take every request.
  std::atomic<int> taken{0};
  std::atomic<int> wrong{0};
  run_threads(kThreads, [&](int t) {
    for (int owner = 0; owner < kThreads; ++owner) {
      const int o = (owner + t) % kThreads;
      for (int k = 0; k < kPerThread; ++k) {
        if (auto p = tracker.take("_r" + std::to_string(o) + "-" + std::to_string(k), now + 1min)) {
          taken.fetch_add(1);
          if (p->browser_binding != "b" + std::to_string(o)) wrong.fetch_add(1);
        }
      }
    }
  });
  CHECK(taken.load() == kThreads * kPerThread);
  CHECK(wrong.load() == 0);
  CHECK(tracker.size() == 0);

  // A bounded tracker stays bounded under concurrent puts.
  InMemoryRequestTracker small(16);
  run_threads(kThreads, [&](int t) {
    for (int k = 0; k < 20; ++k) {
      PendingRequest p;
      p.request_id = "_s" + std::to_string(t) + "-" + std::to_string(k);
      p.expires = now + 10min + std::chrono::seconds(k);
      small.put(std::move(p));
    }
  });
  CHECK(small.size() == 16);
}

TEST_CASE("InMemorySessionStore from 8 threads", "[concurrency]") {
  InMemorySessionStore store;
  const TimePoint now = test::base_time();
  constexpr int kPerThread = 20;
  std::atomic<int> found{0};
  std::atomic<int> foreign{0};
  run_threads(kThreads, [&](int t) {
    for (int k = 0; k < kPerThread; ++k) {
      Session s;
      s.id = "s" + std::to_string(t) + "-" + std::to_string(k);
      s.name_id = "n" + std::to_string(t);
      s.created = now;
      s.last_seen = now;
      s.expires = now + 1h;
      store.put(s);
    }
    for (int k = 0; k < kPerThread; ++k) {
      if (auto s = store.touch("s" + std::to_string(t) + "-" + std::to_string(k), now + 1min, 30min)) {
        found.fetch_add(1);
        if (s->name_id != "n" + std::to_string(t)) foreign.fetch_add(1);
      }
      // Also read the neighbour's sessions while it writes them.
      (void)store.touch("s" + std::to_string((t + 1) % kThreads) + "-" + std::to_string(k), now + 1min,
                        30min);
    }
    // Log out half of them.
    for (int k = 0; k < kPerThread; k += 2) store.remove("s" + std::to_string(t) + "-" + std::to_string(k));
  });
  CHECK(found.load() == kThreads * kPerThread);
  CHECK(foreign.load() == 0);
  CHECK(store.size() == static_cast<std::size_t>(kThreads * kPerThread / 2));
  // All of them gone after the absolute timeout, whoever touches them.
  std::atomic<int> still{0};
  run_threads(kThreads, [&](int t) {
    for (int k = 1; k < kPerThread; k += 2)
      if (store.touch("s" + std::to_string(t) + "-" + std::to_string(k), now + 2h, 8h)) still.fetch_add(1);
  });
  CHECK(still.load() == 0);
  CHECK(store.size() == 0);
}

namespace {

constexpr const char *kCPortal = "https://portal.example";
constexpr const char *kCPortalSp = "https://portal.example/saml";
constexpr const char *kCIdp = "https://idp.nrw.example/saml";
constexpr const char *kCSso = "https://idp.nrw.example/saml/sso";

IdpConfig concurrency_idp_config() {
  return IdpConfig{.entity_id = kCIdp,
                   .sso_url = kCSso,
                   .signing = test::idp_credential(),
                   .sps = {},
                   .require_signed_requests = true,
                   .clock_skew = std::chrono::seconds{180},
                   .assertion_lifetime = std::chrono::seconds{300},
                   .policy = AlgorithmPolicy{}};
}

std::string form_field(const std::string &html, const std::string &name) {
  const std::string marker = "name=\"" + name + "\" value=\"";
  const auto pos = html.find(marker);
  if (pos == std::string::npos) return {};
  const auto start = pos + marker.size();
  return html.substr(start, html.find('"', start) - start); // base64 and base64url need no unescaping
}

} // namespace

TEST_CASE("ServiceProvider: start_login and handle_acs from several threads", "[concurrency]") {
  auto clock = std::make_shared<FixedClock>(test::base_time());
  auto sessions = std::make_shared<InMemorySessionStore>();
  auto tracker = std::make_shared<InMemoryRequestTracker>();
  auto replay = std::make_shared<InMemoryReplayCache>();
  const EntityPtr idp_entity =
      parse_metadata(IdentityProvider(concurrency_idp_config(), clock).metadata_xml()).front();
  SpConfig c;
  c.entity_id = kCPortalSp;
  c.base_url = kCPortal;
  c.signing = test::self_signed_cert(test::rsa_key(2048, 3), "portal.example signing");
  c.decryption = {test::sp_encryption_credential()};
  IdpSettings s;
  s.entity = idp_entity;
  c.idps = {s};
  const ServiceProvider sp(c, sessions, tracker, replay, clock);
  IdpConfig ic = concurrency_idp_config();
  ic.sps = {parse_metadata(sp.metadata_xml()).front()};
  const IdentityProvider idp(ic, clock);

  constexpr int kLogins = 2; // per thread
  struct Login {
    std::string query;
    std::string cookie;
    std::string saml_response;
    std::string relay_state;
  };
  std::vector<std::vector<Login>> logins(kThreads);

  // Phase 1: start logins concurrently.
  run_threads(kThreads, [&](int t) {
    for (int k = 0; k < kLogins; ++k) {
      LoginOptions o;
      o.return_to = "/vorgang/" + std::to_string(t);
      const HttpResponse r = sp.start_login(o);
      Login l;
      const auto loc = r.header("Location");
      if (r.status != 302 || !loc) continue;
      l.query = std::string(loc->substr(loc->find('?') + 1));
      for (const auto &[n, v] : r.headers)
        if (n == "Set-Cookie") l.cookie = v.substr(0, v.find(';'));
      logins[idx(t)].push_back(std::move(l));
    }
  });
  REQUIRE(tracker->size() == static_cast<std::size_t>(kThreads * kLogins));

  // Phase 2 (one thread): the IdP answers every request; half encrypted.
  int n = 0;
  for (auto &per_thread : logins) {
    REQUIRE(per_thread.size() == static_cast<std::size_t>(kLogins));
    for (auto &l : per_thread) {
      HttpRequest req;
      req.raw_query = l.query;
      const ReceivedAuthnRequest rec = idp.receive_authn_request(req);
      AuthenticatedSubject subject;
      subject.name_id = "subject-" + std::to_string(n);
      subject.authn_context_class_ref = "STORK-QAA-Level-3";
      subject.attributes = {{"urn:oid:2.5.4.42", {"Clara"}, "", ""}};
      ResponseOptions ro;
      ro.encrypt_assertion = (n % 2) == 1;
      const HttpResponse page = idp.post_response(rec, idp.build_response(rec, subject, ro));
      l.saml_response = form_field(page.body, "SAMLResponse");
      l.relay_state = form_field(page.body, "RelayState");
      REQUIRE_FALSE(l.saml_response.empty());
      ++n;
    }
  }

  // Phase 3: every browser posts its responses concurrently, each twice.
  std::vector<std::vector<std::string>> session_ids(kThreads);
  std::vector<std::vector<std::string>> failures(kThreads);
  std::atomic<int> second_post_accepted{0};
  run_threads(kThreads, [&](int t) {
    for (const Login &l : logins[idx(t)]) {
      HttpRequest req;
      req.method = "POST";
      req.path = "/saml/acs";
      req.headers.emplace_back("Cookie", l.cookie);
      req.body = "SAMLResponse=" + url_encode(l.saml_response) + "&RelayState=" + url_encode(l.relay_state);
      const AcsOutcome out = sp.handle_acs(req);
      if (out.session && out.response.status == 303 &&
          out.response.header("Location") == std::optional<std::string_view>("/vorgang/" + std::to_string(t)))
        session_ids[idx(t)].push_back(out.session->id);
      else
        failures[idx(t)].push_back(out.error ? std::string(out.error->what()) : "unexpected outcome");
      if (sp.handle_acs(req).session) second_post_accepted.fetch_add(1);
    }
  });

  std::set<std::string> distinct;
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t << ": " << (failures[idx(t)].empty() ? std::string() : failures[idx(t)].front()));
    CHECK(failures[idx(t)].empty());
    CHECK(session_ids[idx(t)].size() == static_cast<std::size_t>(kLogins));
    distinct.insert(session_ids[idx(t)].begin(), session_ids[idx(t)].end());
  }
  CHECK(distinct.size() == static_cast<std::size_t>(kThreads * kLogins));
  CHECK(second_post_accepted.load() == 0);
  CHECK(sessions->size() == static_cast<std::size_t>(kThreads * kLogins));
  CHECK(tracker->size() == 0);

  // Phase 4: the portal looks the sessions up concurrently.
  std::atomic<int> looked_up{0};
  run_threads(kThreads, [&](int t) {
    for (const auto &id : session_ids[idx(t)]) {
      HttpRequest req;
      req.headers.emplace_back("Cookie", "interkonto_session=" + id);
      if (auto found = sp.current_session(req); found && found->id == id) looked_up.fetch_add(1);
    }
  });
  CHECK(looked_up.load() == kThreads * kLogins);
}
