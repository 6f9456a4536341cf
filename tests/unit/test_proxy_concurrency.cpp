// SPDX-License-Identifier: EUPL-1.2
// One Proxy shared by several browsers at once: complete logins (portal ->
// proxy -> NRW -> proxy -> portal) mixed with replays of used upstream
// responses, upstream error responses and unknown pending keys; and the
// InMemoryPendingStore from several threads. These also run under
// ThreadSanitizer, so they stay small (a dozen logins) and every loop is
// bounded. Catch2 v2 assertions are not thread-safe: the threads record what
// they saw, the test checks it after the join.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_browser.hpp"
#include "unit/proxy_world.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;
using namespace std::chrono_literals;

namespace {

using test::cookie_header;
using test::form_action;
using test::form_value;
using test::get_request;
using test::idp_config;
using test::post_form;
using test::redirect_query;
using namespace test::proxy_world;

constexpr int kThreads = 4;
constexpr int kRounds = 3; // logins per thread

// Runs fn(i) on n threads that start together; joins them all.
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

// Inside the threads: a failed expectation throws, the thread records it.
void expect(bool cond, const std::string &what) {
  if (!cond) throw std::runtime_error(what);
}

// One citizen per login; the given name tells the logins apart.
AuthenticatedSubject citizen(const std::string &tag) {
  AuthenticatedSubject s;
  s.name_id = "nrw-" + tag;
  s.authn_context_class_ref = "STORK-QAA-Level-3";
  s.session_index = "_nrw-session-" + tag;
  s.attributes = {{"urn:oid:2.5.4.42", {"Clara" + tag}, "givenName", ""},
                  {"urn:oid:2.5.4.4", {"Schmidt"}, "surname", ""},
                  {"urn:oid:1.2.40.0.10.2.1.1.55", {"1990-04-01"}, "birthdate", ""},
                  {"urn:oid:1.2.40.0.10.2.1.1.261.94", {"STORK-QAA-Level-3"}, "trustLevel", ""}};
  return s;
}

const std::vector<std::string> *session_values(const Session &s, std::string_view name) {
  for (const auto &[n, v] : s.attributes)
    if (n == name) return &v;
  return nullptr;
}

// Portal (SP, with an encryption key) -> proxy (encrypts for the portal) -> NRW.
struct World {
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(test::base_time());
  std::shared_ptr<InMemoryPendingStore> pending = std::make_shared<InMemoryPendingStore>();
  std::shared_ptr<InMemorySessionStore> portal_sessions = std::make_shared<InMemorySessionStore>();
  std::atomic<int> audit_success{0};
  std::atomic<int> audit_upstream_status{0}; // cause status_not_success
  std::atomic<int> audit_other{0};
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<IdentityProvider> nrw;
  std::unique_ptr<ServiceProvider> portal;

  World() {
    const Credential &nrw_cred = test::cached_credential(40, "idp.nrw.example");
    const Credential &proxy_idp_cred = test::cached_credential(41, "sk.thueringen.example idp");
    const Credential &proxy_sp_cred = test::cached_credential(42, "sk.thueringen.example sp");
    const Credential &portal_cred = test::cached_credential(43, "portal.thueringen.example");
    const Credential &portal_enc = test::cached_credential(44, "portal.thueringen.example encryption");

    const EntityPtr nrw_entity = idp_entity(idp_config(kNrw, kNrwSso, nrw_cred), clock);
    const EntityPtr proxy_idp_entity = idp_entity(idp_config(kProxyIdp, kProxySso, proxy_idp_cred), clock);

    SpConfig pc = portal_config(portal_cred, proxy_idp_entity);
    pc.decryption = {portal_enc};
    portal =
        std::make_unique<ServiceProvider>(pc, portal_sessions, std::make_shared<InMemoryRequestTracker>(),
                                          std::make_shared<InMemoryReplayCache>(), clock);

    ProxyConfig c = proxy_config(idp_config(kProxyIdp, kProxySso, proxy_idp_cred),
                                 parse_metadata(portal->metadata_xml()).front(), proxy_sp_cred, nrw_entity,
                                 AttributeMap::from_yaml(kAttributeMap));
    c.idp.default_response.encrypt_assertion = true;
    c.audit = [this](const ProxyAuditRecord &r) {
      if (r.success)
        audit_success.fetch_add(1);
      else if (r.cause == "status_not_success")
        audit_upstream_status.fetch_add(1);
      else
        audit_other.fetch_add(1);
    };
    proxy = std::make_unique<Proxy>(c, pending, std::make_shared<InMemorySessionStore>(),
                                    std::make_shared<InMemoryRequestTracker>(),
                                    std::make_shared<InMemoryReplayCache>(), clock);

    IdpConfig nc = idp_config(kNrw, kNrwSso, nrw_cred);
    nc.sps = {parse_metadata(proxy->sp().metadata_xml()).front()};
    nrw = std::make_unique<IdentityProvider>(nc, clock);
  }
};

// The browser's state once NRW has answered.
struct Upstream {
  std::string return_to;
  std::string portal_cookies;
  std::string proxy_cookies;
  std::string saml_response; // NRW's SAMLResponse for the proxy
  std::string relay_state;   // the pending key
};

// portal start_login -> proxy SSO -> NRW (success or AuthnFailed).
Upstream to_upstream(const World &w, const std::string &tag, bool upstream_fails) {
  Upstream u;
  u.return_to = "/vorgang/" + tag;
  LoginOptions opt;
  opt.return_to = u.return_to;
  const HttpResponse start = w.portal->start_login(opt);
  u.portal_cookies = cookie_header(start);

  const HttpResponse to_nrw = w.proxy->handle(get_request("/proxy/sso", redirect_query(start, kProxySso)));
  u.proxy_cookies = cookie_header(to_nrw);
  expect(!u.proxy_cookies.empty(), "no proxy cookie");

  const ReceivedAuthnRequest rec =
      w.nrw->receive_authn_request(get_request("/saml/sso", redirect_query(to_nrw, kNrwSso)));
  expect(rec.issuer == kProxySp, "upstream request from " + rec.issuer);
  const std::string xml = upstream_fails
                              ? w.nrw->build_error_response(rec, status::responder, status::authn_failed)
                              : w.nrw->build_response(rec, citizen(tag));
  const HttpResponse page = w.nrw->post_response(rec, xml);
  expect(page.status == 200, "NRW page status " + std::to_string(page.status));
  expect(form_action(page.body) == std::optional<std::string>(std::string(kProxyBase) + "/proxy/acs"),
         "NRW posts elsewhere");
  u.saml_response = form_value(page.body, "SAMLResponse").value_or("");
  u.relay_state = form_value(page.body, "RelayState").value_or("");
  expect(!u.saml_response.empty() && !u.relay_state.empty(), "no SAMLResponse/RelayState from NRW");
  return u;
}

HttpResponse post_upstream(const World &w, const Upstream &u) {
  return w.proxy->handle(post_form("/proxy/acs", u.saml_response, u.relay_state, u.proxy_cookies));
}

// The proxy's auto-POST page to the portal, handed to the portal's ACS.
AcsOutcome to_portal(const World &w, const Upstream &u, const HttpResponse &proxy_answer) {
  expect(proxy_answer.status == 200, "proxy ACS status " + std::to_string(proxy_answer.status));
  expect(form_action(proxy_answer.body) == std::optional<std::string>(std::string(kPortalBase) + "/saml/acs"),
         "proxy posts elsewhere");
  const auto saml = form_value(proxy_answer.body, "SAMLResponse");
  expect(saml.has_value(), "no SAMLResponse for the portal");
  const auto rs = form_value(proxy_answer.body, "RelayState").value_or("");
  return w.portal->handle_acs(post_form("/saml/acs", *saml, rs, u.portal_cookies));
}

void expect_refused(const HttpResponse &r, const std::string &what) {
  expect(r.status >= 400 && r.status < 500, what + ": status " + std::to_string(r.status));
  expect(!form_value(r.body, "SAMLResponse").has_value(), what + ": a SAMLResponse went out");
}

std::string describe(const AcsOutcome &o) {
  return o.error ? std::string(to_string(o.error->code())) + ": " + o.error->detail() : "no error";
}

} // namespace

TEST_CASE("Proxy: logins, replays, upstream errors and unknown keys from 4 threads", "[concurrency]") {
  World w;
  struct Tally {
    int logins = 0;
    int upstream_errors = 0;
    int replays_refused = 0;
    int unknown_refused = 0;
    std::vector<std::string> session_ids;
    std::vector<std::string> failures;
  };
  const int warm_up_logins = 0;

  std::vector<Tally> tally(kThreads);
  // An upstream response already used in round 0 of each thread, for the unknown-key posts.
  std::vector<std::string> used(kThreads);

  run_threads(kThreads, [&](int t) {
    Tally &mine = tally[idx(t)];
    for (int r = 0; r < kRounds; ++r) {
      const std::string tag = std::to_string(t) + "-" + std::to_string(r);
      const bool upstream_fails = (t + r) % 3 == 1;
      try {
        const Upstream u = to_upstream(w, tag, upstream_fails);
        const HttpResponse answer = post_upstream(w, u);
        const AcsOutcome out = to_portal(w, u, answer);
        if (upstream_fails) {
          // NRW's AuthnFailed reaches the portal as a SAML error.
          expect(out.error.has_value() && out.error->code() == ErrorCode::status_not_success,
                 tag + ": portal outcome " + describe(out));
          expect(!out.session.has_value(), tag + ": session after an upstream error");
          expect(
              out.status.has_value() && out.status->code == status::responder &&
                  out.status->second_level == status::authn_failed,
              tag + ": portal status " +
                  (out.status ? out.status->code + " / " + out.status->second_level : std::string("none")));
          ++mine.upstream_errors;
        } else {
          expect(!out.error.has_value() && out.session.has_value() && out.result.has_value(),
                 tag + ": portal outcome " + describe(out));
          expect(out.response.header("Location") == std::optional<std::string_view>(u.return_to),
                 tag + ": portal sends the browser elsewhere");
          expect(out.result->issuer == kProxyIdp, tag + ": issuer " + out.result->issuer);
          expect(out.result->was_encrypted, tag + ": assertion not encrypted");
          const auto *given = session_values(*out.session, "urn:oid:2.5.4.42");
          expect(given != nullptr && *given == std::vector<std::string>{"Clara" + tag},
                 tag + ": another login's givenName");
          expect(session_values(*out.session, "urn:oid:1.2.40.0.10.2.1.1.55") == nullptr,
                 tag + ": withheld birthdate released");
          expect(out.session->authn_context_class_ref == "STORK-QAA-Level-3",
                 tag + ": class ref " + out.session->authn_context_class_ref);
          mine.session_ids.push_back(out.session->id);
          ++mine.logins;
        }

        // The same upstream response again (same browser): refused, no second portal response.
        expect_refused(post_upstream(w, u), tag + ": replay");
        ++mine.replays_refused;

        if (r == 0) used[idx(t)] = u.saml_response;
        // An unknown pending key: at the ACS (with a used response) and at the login step.
        expect_refused(
            w.proxy->handle(post_form("/proxy/acs", used[idx(t)], "unknown-" + random_id(), u.proxy_cookies)),
            tag + ": unknown key at the ACS");
        HttpRequest login;
        login.method = "GET";
        login.path = w.proxy->sp().config().login_path;
        login.raw_query =
            "idp=" + url_encode(kNrw) + "&return_to=" + url_encode("/proxy/continue?key=" + random_id());
        expect_refused(w.proxy->handle(login), tag + ": unknown key at the login step");
        ++mine.unknown_refused;
      } catch (const std::exception &e) {
        mine.failures.push_back(e.what());
      }
    }
  });

  int logins = 0;
  int upstream_errors = 0;
  int expected_logins = 0;
  std::set<std::string> sessions;
  for (int t = 0; t < kThreads; ++t) {
    const Tally &mine = tally[idx(t)];
    INFO("thread " << t << ": " << (mine.failures.empty() ? std::string() : mine.failures.front()));
    CHECK(mine.failures.empty());
    CHECK(mine.replays_refused == kRounds);
    CHECK(mine.unknown_refused == kRounds);
    logins += mine.logins;
    upstream_errors += mine.upstream_errors;
    sessions.insert(mine.session_ids.begin(), mine.session_ids.end());
    for (int r = 0; r < kRounds; ++r)
      if ((t + r) % 3 != 1) ++expected_logins;
  }
  CHECK(logins == expected_logins);
  CHECK(upstream_errors == kThreads * kRounds - expected_logins);
  CHECK(sessions.size() == static_cast<std::size_t>(expected_logins));
  CHECK(w.portal_sessions->size() == static_cast<std::size_t>(expected_logins + warm_up_logins));
  CHECK(w.audit_success.load() == expected_logins + warm_up_logins);
  CHECK(w.audit_upstream_status.load() == kThreads * kRounds - expected_logins);
  CHECK(w.audit_other.load() == 0);
  CHECK(w.pending->size() == 0);
}

namespace {

// 4 threads post the same (fresh) upstream response: returns the one proxy
// answer that carries a SAMLResponse for the portal, if exactly one does and
// the others are refused.
std::optional<HttpResponse> race_same_upstream_response(const World &w, const Upstream &u, int &forwarded,
                                                        int &refused) {
  std::vector<HttpResponse> answers(kThreads);
  run_threads(kThreads, [&](int t) { answers[idx(t)] = post_upstream(w, u); });
  forwarded = 0;
  refused = 0;
  std::optional<HttpResponse> winner;
  for (const HttpResponse &a : answers) {
    if (a.status == 200 && form_value(a.body, "SAMLResponse")) {
      ++forwarded;
      winner = a;
    } else if (a.status >= 400 && a.status < 500 && !form_value(a.body, "SAMLResponse")) {
      ++refused;
    }
  }
  if (forwarded != 1) winner.reset();
  return winner;
}

} // namespace

TEST_CASE("Proxy: 4 threads post the same upstream response, exactly one portal response", "[concurrency]") {
  World w;
  Upstream u;
  REQUIRE_NOTHROW(u = to_upstream(w, "race", false));
  int forwarded = 0;
  int refused = 0;
  const auto winner = race_same_upstream_response(w, u, forwarded, refused);
  CHECK(forwarded == 1);
  CHECK(refused == kThreads - 1);
  REQUIRE(winner.has_value());
  // The portal accepts what it got: the login, or (see the next test) a SAML error.
  const AcsOutcome out = to_portal(w, u, *winner);
  INFO(describe(out));
  CHECK((out.session.has_value() ||
         (out.error.has_value() && out.error->code() == ErrorCode::status_not_success)));
  CHECK(w.audit_success.load() + w.audit_other.load() + w.audit_upstream_status.load() == 1);
  CHECK(w.pending->size() == 0);
}

// A double-submitted auto-POST page must not turn a good upstream login into
// a failure: a losing POST (replayed / in_response_to_mismatch) leaves the
// pending entry to the winning one.
TEST_CASE("Proxy: of 4 identical upstream posts the good login wins", "[concurrency]") {
  World w;
  Upstream u;
  REQUIRE_NOTHROW(u = to_upstream(w, "race2", false));
  int forwarded = 0;
  int refused = 0;
  const auto winner = race_same_upstream_response(w, u, forwarded, refused);
  REQUIRE(winner.has_value());
  const AcsOutcome out = to_portal(w, u, *winner);
  INFO(describe(out));
  CHECK(out.session.has_value());
  CHECK(w.audit_success.load() == 1);
}

TEST_CASE("InMemoryPendingStore from 4 threads: bounded under churn and expiry", "[concurrency]") {
  constexpr std::size_t kMax = 32;
  constexpr int kPuts = 120; // per thread
  InMemoryPendingStore store(kMax, 10s);
  const TimePoint t0 = test::base_time();
  auto key = [](int t, int k) { return "t" + std::to_string(t) + "-" + std::to_string(k); };
  auto when = [&](int k) { return t0 + std::chrono::seconds(k); };

  std::vector<std::atomic<int>> taken(static_cast<std::size_t>(kThreads * kPuts));
  std::atomic<int> over_bound{0};
  std::atomic<int> wrong_entry{0};
  std::atomic<int> past_retention_seen{0};
  run_threads(kThreads, [&](int t) {
    for (int k = 0; k < kPuts; ++k) {
      PendingPortalRequest p;
      p.key = key(t, k);
      p.request.id = "_req-" + p.key;
      p.created = when(k);
      p.expires = p.created + ((k % 2) == 0 ? 300s : 2s); // odd ones expire soon
      store.put(std::move(p));
      if (store.size() > kMax) over_bound.fetch_add(1);

      // Read an own older entry: if there, it is that entry and not past retention.
      if (k >= 2)
        if (const auto g = store.get(key(t, k - 2), when(k))) {
          if (g->key != key(t, k - 2) || g->request.id != "_req-" + key(t, k - 2)) wrong_entry.fetch_add(1);
          if (g->expires + 10s <= when(k)) past_retention_seen.fetch_add(1);
        }
      // Take a neighbour's entries (every thread takes from every other over the run).
      if (k >= 1) {
        const int other = (t + 1 + k % (kThreads - 1)) % kThreads;
        if (const auto got = store.take(key(other, k - 1), when(k))) {
          taken[idx(other * kPuts + k - 1)].fetch_add(1);
          if (got->key != key(other, k - 1)) wrong_entry.fetch_add(1);
          if (got->expires + 10s <= when(k)) past_retention_seen.fetch_add(1);
        }
      }
    }
  });
  CHECK(over_bound.load() == 0);
  CHECK(wrong_entry.load() == 0);
  CHECK(past_retention_seen.load() == 0);
  CHECK(store.size() <= kMax);
  for (std::size_t i = 0; i < taken.size(); ++i) {
    INFO("entry " << i);
    CHECK(taken[i].load() <= 1);
  }
  // Long after everything expired and retention ended: nothing is left to get or take.
  const TimePoint late = when(kPuts) + 1h;
  int left = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int k = 0; k < kPuts; ++k)
      if (store.get(key(t, k), late) || store.take(key(t, k), late)) ++left;
  CHECK(left == 0);
  CHECK(store.size() == 0);
}

TEST_CASE("InMemoryPendingStore from 4 threads: every key taken at most once", "[concurrency]") {
  // live: expires later; retained: expired but within retention (still
  // taken, so the portal can get an error); gone: past retention (never).
  constexpr int kPerKind = 40;
  const TimePoint now = test::base_time();
  InMemoryPendingStore store(1000, 1h);
  struct Entry {
    std::string key;
    TimePoint expires;
    bool takeable;
  };
  std::vector<Entry> entries;
  for (int i = 0; i < kPerKind; ++i) {
    entries.push_back({"live-" + std::to_string(i), now + 10min, true});
    entries.push_back({"retained-" + std::to_string(i), now - 1min, true});
    entries.push_back({"gone-" + std::to_string(i), now - 2h, false});
  }
  const int n = static_cast<int>(entries.size());

  // Put concurrently (created long ago, so putting purges nothing yet).
  run_threads(kThreads, [&](int t) {
    for (int i = t; i < n; i += kThreads) {
      PendingPortalRequest p;
      p.key = entries[idx(i)].key;
      p.request.id = "_req-" + p.key;
      p.created = now - 3h;
      p.expires = entries[idx(i)].expires;
      store.put(std::move(p));
    }
  });
  REQUIRE(store.size() == entries.size());

  std::vector<std::atomic<int>> taken(entries.size());
  std::atomic<int> wrong_entry{0};
  std::atomic<int> gone_seen{0};
  run_threads(kThreads, [&](int t) {
    for (int j = 0; j < n; ++j) {
      const int i = (j + t * (n / kThreads)) % n; // each thread starts elsewhere
      const Entry &e = entries[idx(i)];
      if (const auto g = store.get(e.key, now)) {
        if (!e.takeable) gone_seen.fetch_add(1);
        if (g->key != e.key) wrong_entry.fetch_add(1);
      }
      if (const auto got = store.take(e.key, now)) {
        taken[idx(i)].fetch_add(1);
        if (!e.takeable) gone_seen.fetch_add(1);
        if (got->key != e.key || got->request.id != "_req-" + e.key || got->expires != e.expires)
          wrong_entry.fetch_add(1);
      }
    }
  });
  CHECK(wrong_entry.load() == 0);
  CHECK(gone_seen.load() == 0);
  for (int i = 0; i < n; ++i) {
    INFO(entries[idx(i)].key);
    CHECK(taken[idx(i)].load() == (entries[idx(i)].takeable ? 1 : 0));
  }
  CHECK(store.size() == 0);
}
