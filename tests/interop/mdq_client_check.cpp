// SPDX-License-Identifier: EUPL-1.2
// Drives interkonto::MdqClient against a running interkonto-metadata-server
// (started by tests/interop/mdq_test.py). Prints one line per case,
// "ok: <name>" or "FAIL: <name>: <why>", then "N passed, M failed"; exits 1
// when a case failed, 2 on usage errors.
//
//   mdq_client_check --base URL --cert PINNED.pem --wrong-cert OTHER.pem
//                    --cache-duration SECONDS [--ca-file CA.pem]
//                    --known ENTITY_ID... --unknown ENTITY_ID

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"

namespace ik = interkonto;
using namespace std::chrono_literals;

namespace {

struct Args {
  std::string base;
  std::string cert;
  std::string wrong_cert;
  std::string ca_file;
  std::chrono::seconds cache_duration{0};
  std::vector<std::string> known;
  std::string unknown;
};

struct Failure {
  std::string why;
};

void expect(bool cond, const std::string &why) {
  if (!cond) throw Failure{why};
}

class Runner {
public:
  void run(const std::string &name, const std::function<void()> &body) {
    try {
      body();
      ++passed_;
      std::cout << "ok: " << name << std::endl;
    } catch (const Failure &f) {
      fail(name, f.why);
    } catch (const ik::Error &e) {
      fail(name, fmt::format("unexpected Error {}: {}", ik::to_string(e.code()), e.detail()));
    } catch (const std::exception &e) {
      fail(name, fmt::format("unexpected exception: {}", e.what()));
    }
  }
  int passed() const { return passed_; }
  int failed() const { return failed_; }

private:
  void fail(const std::string &name, const std::string &why) {
    ++failed_;
    std::cout << "FAIL: " << name << ": " << why << std::endl;
  }
  int passed_ = 0;
  int failed_ = 0;
};

ik::AggregateTrust trust_for(const std::string &cert_path) {
  ik::AggregateTrust t;
  t.pinned_keys.push_back(ik::Certificate::from_pem_file(cert_path).public_key());
  return t;
}

ik::MdqConfig config_for(const Args &a, const std::string &cert_path, bool use_sha1) {
  ik::MdqConfig c;
  c.base_url = a.base;
  c.trust = trust_for(cert_path);
  c.use_sha1 = use_sha1;
  c.http.connect_timeout = 5s;
  c.http.total_timeout = 20s;
  c.http.ca_file = a.ca_file;
  c.min_cache = 1min;
  c.max_cache = 24h;
  c.negative_ttl = 5min;
  return c;
}

std::shared_ptr<ik::FixedClock> clock_at_now() {
  return std::make_shared<ik::FixedClock>(ik::SystemClock().now());
}

std::string_view code_name(const std::function<void()> &f) {
  try {
    f();
  } catch (const ik::Error &e) {
    return ik::to_string(e.code());
  }
  return "no error";
}

bool parse_args(int argc, char **argv, Args &a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--base")
      a.base = value();
    else if (k == "--cert")
      a.cert = value();
    else if (k == "--wrong-cert")
      a.wrong_cert = value();
    else if (k == "--ca-file")
      a.ca_file = value();
    else if (k == "--cache-duration")
      a.cache_duration = std::chrono::seconds(std::stol(value()));
    else if (k == "--known")
      a.known.push_back(value());
    else if (k == "--unknown")
      a.unknown = value();
    else
      throw std::invalid_argument("unknown option " + k);
  }
  return !a.base.empty() && !a.cert.empty() && !a.wrong_cert.empty() && !a.known.empty() &&
         !a.unknown.empty() && a.cache_duration > 2min;
}

} // namespace

int main(int argc, char **argv) {
  Args a;
  try {
    if (!parse_args(argc, argv, a)) {
      std::cerr
          << "usage: mdq_client_check --base URL --cert PEM --wrong-cert PEM --cache-duration SECONDS(>120) "
             "--known ID... --unknown ID [--ca-file PEM]\n";
      return 2;
    }
  } catch (const std::exception &e) {
    std::cerr << "mdq_client_check: " << e.what() << '\n';
    return 2;
  }
  const std::string &first = a.known.front();
  Runner r;

  r.run("lookup by entityID finds the entity, verified with the pinned key", [&] {
    ik::MdqClient c(config_for(a, a.cert, false), clock_at_now());
    const auto e = c.lookup(first);
    expect(e != nullptr, "entity not found");
    expect(e->entity_id == first, "wrong entityID " + e->entity_id);
    expect(e->idp || e->sp, "entity has no IdP or SP role");
    expect(c.fetches() == 1, fmt::format("fetches {} != 1", c.fetches()));
    expect(c.cache_size() == 1, fmt::format("cache_size {} != 1", c.cache_size()));
  });

  r.run("lookup by {sha1} finds every known entity", [&] {
    ik::MdqClient c(config_for(a, a.cert, true), clock_at_now());
    for (const auto &id : a.known) {
      const auto e = c.lookup(id);
      expect(e != nullptr, "not found: " + id);
      expect(e->entity_id == id, "wrong entityID " + e->entity_id + " for " + id);
      expect(e->sha1_hex == ik::entity_id_sha1_hex(id), "sha1_hex mismatch for " + id);
    }
    expect(c.fetches() == a.known.size(), fmt::format("fetches {} != {}", c.fetches(), a.known.size()));
  });

  r.run("lookup by entityID finds every known entity", [&] {
    ik::MdqClient c(config_for(a, a.cert, false), clock_at_now());
    for (const auto &id : a.known) {
      const auto e = c.lookup(id);
      expect(e != nullptr, "not found: " + id);
      expect(e->entity_id == id, "wrong entityID " + e->entity_id + " for " + id);
    }
  });

  r.run("a cached entity is not refetched before cacheDuration, and is after it", [&] {
    auto clock = clock_at_now();
    ik::MdqClient c(config_for(a, a.cert, false), clock);
    const auto e1 = c.lookup(first);
    expect(e1 != nullptr, "entity not found");
    expect(c.fetches() == 1, fmt::format("fetches {} != 1 after first lookup", c.fetches()));
    const auto e2 = c.lookup(first);
    expect(e2 == e1, "second lookup did not return the cached entity");
    clock->advance(a.cache_duration - 1min);
    const auto e3 = c.lookup(first);
    expect(e3 == e1, "lookup before cacheDuration did not return the cached entity");
    expect(c.fetches() == 1, fmt::format("fetches {} != 1 before cacheDuration", c.fetches()));
    clock->advance(2min);
    const auto e4 = c.lookup(first);
    expect(e4 != nullptr && e4->entity_id == first, "refetched entity missing");
    expect(c.fetches() == 2, fmt::format("fetches {} != 2 after cacheDuration", c.fetches()));
  });

  r.run("max_cache caps the server's cacheDuration", [&] {
    auto clock = clock_at_now();
    auto cfg = config_for(a, a.cert, false);
    cfg.max_cache = 2min;
    ik::MdqClient c(cfg, clock);
    expect(c.lookup(first) != nullptr, "entity not found");
    clock->advance(90s);
    expect(c.lookup(first) != nullptr, "entity not found (cached)");
    expect(c.fetches() == 1, fmt::format("fetches {} != 1 within max_cache", c.fetches()));
    clock->advance(60s);
    expect(c.lookup(first) != nullptr, "entity not found (refetched)");
    expect(c.fetches() == 2, fmt::format("fetches {} != 2 after max_cache", c.fetches()));
  });

  r.run("unknown entity: nullptr, negatively cached for negative_ttl", [&] {
    auto clock = clock_at_now();
    ik::MdqClient c(config_for(a, a.cert, false), clock);
    expect(c.lookup(a.unknown) == nullptr, "unknown entity found");
    expect(c.fetches() == 1, fmt::format("fetches {} != 1", c.fetches()));
    expect(c.lookup(a.unknown) == nullptr, "unknown entity found on second lookup");
    expect(c.fetches() == 1, fmt::format("second lookup hit the server (fetches {})", c.fetches()));
    clock->advance(4min);
    expect(c.lookup(a.unknown) == nullptr, "unknown entity found within negative_ttl");
    expect(c.fetches() == 1,
           fmt::format("lookup within negative_ttl hit the server (fetches {})", c.fetches()));
    clock->advance(2min);
    expect(c.lookup(a.unknown) == nullptr, "unknown entity found after negative_ttl");
    expect(c.fetches() == 2, fmt::format("fetches {} != 2 after negative_ttl", c.fetches()));
  });

  r.run("unknown entity by {sha1}: nullptr, negatively cached", [&] {
    ik::MdqClient c(config_for(a, a.cert, true), clock_at_now());
    expect(c.lookup(a.unknown) == nullptr, "unknown entity found");
    expect(c.lookup(a.unknown) == nullptr, "unknown entity found on second lookup");
    expect(c.fetches() == 1, fmt::format("fetches {} != 1", c.fetches()));
  });

  r.run("wrong pinned key: Error, not cached", [&] {
    ik::MdqClient c(config_for(a, a.wrong_cert, false), clock_at_now());
    const auto code = code_name([&] { c.lookup(first); });
    expect(code == "signature_invalid" || code == "untrusted_key", fmt::format("code {}", code));
    expect(c.cache_size() == 0, fmt::format("cache_size {} != 0", c.cache_size()));
    const auto again = code_name([&] { c.lookup(first); });
    expect(again == code, fmt::format("second lookup: code {}", again));
    expect(c.fetches() == 2, fmt::format("failed answer was cached (fetches {})", c.fetches()));
  });

  r.run("validUntil in the past for the client's clock: refused (expired)", [&] {
    auto clock = clock_at_now();
    clock->advance(std::chrono::hours(24 * 365));
    ik::MdqClient c(config_for(a, a.cert, false), clock);
    const auto code = code_name([&] { c.lookup(first); });
    expect(code == "expired", fmt::format("code {}", code));
    expect(c.cache_size() == 0, "expired answer cached");
  });

  r.run("max_validity shorter than the server's validity: refused", [&] {
    auto cfg = config_for(a, a.cert, false);
    cfg.trust.max_validity = std::chrono::hours(1);
    ik::MdqClient c(cfg, clock_at_now());
    const auto code = code_name([&] { c.lookup(first); });
    expect(code == "untrusted_metadata", fmt::format("code {}", code));
  });

  r.run("concurrent lookups all see the entity", [&] {
    ik::MdqClient c(config_for(a, a.cert, false), clock_at_now());
    constexpr int kThreads = 4;
    std::vector<int> found(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; ++i) {
          try {
            for (const auto &id : a.known)
              if (auto e = c.lookup(id); e && e->entity_id == id) ++found[static_cast<std::size_t>(t)];
          } catch (...) {
          }
        }
      });
    }
    for (auto &th : threads) th.join();
    for (int t = 0; t < kThreads; ++t)
      expect(found[static_cast<std::size_t>(t)] == static_cast<int>(5 * a.known.size()),
             fmt::format("thread {} found {}", t, found[static_cast<std::size_t>(t)]));
    expect(c.cache_size() == a.known.size(), fmt::format("cache_size {}", c.cache_size()));
    expect(c.fetches() >= a.known.size() && c.fetches() <= kThreads * a.known.size(),
           fmt::format("fetches {}", c.fetches()));
  });

  r.run("the aggregate at / verifies with the pinned key and holds every known entity", [&] {
    ik::HttpOptions http;
    http.total_timeout = 20s;
    http.ca_file = a.ca_file;
    const auto resp = ik::http_get(a.base, http);
    expect(resp.status == 200, fmt::format("HTTP {}", resp.status));
    const auto snap = ik::load_aggregate(resp.body, trust_for(a.cert), ik::SystemClock().now());
    expect(snap->entities().size() == a.known.size(),
           fmt::format("{} entities, expected {}", snap->entities().size(), a.known.size()));
    for (const auto &id : a.known) expect(snap->find(id) != nullptr, "missing " + id);
    const auto code =
        code_name([&] { ik::load_aggregate(resp.body, trust_for(a.wrong_cert), ik::SystemClock().now()); });
    expect(code == "signature_invalid" || code == "untrusted_key", fmt::format("wrong key: code {}", code));
  });

  std::cout << fmt::format("{} passed, {} failed", r.passed(), r.failed()) << std::endl;
  return r.failed() == 0 ? 0 : 1;
}
