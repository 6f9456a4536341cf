// SPDX-License-Identifier: EUPL-1.2
// MdqClient without a server: configuration checks and transport errors
// (never cached). The protocol cases run against the real metadata server
// example in tests/interop/mdq_test.py.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "interkonto/metadata_provider.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

// A loopback port that is bound but not listening: connecting is refused
// for as long as this object lives.
class RefusingPort {
public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort &) = delete;
  RefusingPort &operator=(const RefusingPort &) = delete;
  unsigned port() const { return port_; }

private:
  int fd_;
  unsigned port_ = 0;
};

} // namespace

TEST_CASE("MdqClient refuses an empty base URL and an empty cache", "[metadata][mdq]") {
  MdqConfig c;
  CHECK(code_of([&] { MdqClient client(c); }) == ErrorCode::config_invalid);
  c.base_url = "http://127.0.0.1:9/";
  c.max_entries = 0;
  CHECK(code_of([&] { MdqClient client(c); }) == ErrorCode::config_invalid);
}

TEST_CASE("MdqClient: a transport error is thrown and not cached", "[metadata][mdq]") {
  RefusingPort port;
  MdqConfig c;
  c.base_url = "http://127.0.0.1:" + std::to_string(port.port()); // no trailing slash: added
  c.http.connect_timeout = std::chrono::seconds(5);
  c.http.total_timeout = std::chrono::seconds(10);
  auto clock = std::make_shared<FixedClock>(TimePoint{} + std::chrono::hours(24 * 365 * 50));
  MdqClient client(c, clock);
  CHECK_THROWS_AS(client.lookup("https://idp.example/idp"), Error);
  CHECK(client.fetches() == 1);
  CHECK(client.cache_size() == 0);
  CHECK_THROWS_AS(client.lookup("https://idp.example/idp"), Error);
  CHECK(client.fetches() == 2);
  CHECK(client.cache_size() == 0);
}
