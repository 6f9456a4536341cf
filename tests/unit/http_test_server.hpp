// SPDX-License-Identifier: EUPL-1.2
#pragma once
// A small, real HTTP/1.1 server on 127.0.0.1 for tests (POSIX sockets only).
// One thread accepts and serves connections one at a time, one request per
// connection ("Connection: close"). Handlers are set per path; the server
// counts requests, can answer conditional GETs with 304, stall (for timeout
// tests) and be "down" (stop(): the port is closed; start() reopens it).
// Every wait is a poll() of at most 50 ms and every loop is bounded.
//
//   interkonto::test::HttpTestServer server;            // ephemeral port
//   server.serve("/md.xml", xml, "\"v1\"");              // ETag + 304 support
//   server.handle("/x", [](const TestRequest &) { return TestResponse{404}; });
//   http_get(server.url("/md.xml"), ...);

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace interkonto::test {

struct TestRequest {
  std::string method;
  std::string target; // as sent: path and query
  std::string path;   // without the query
  std::vector<std::pair<std::string, std::string>> headers;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto &[n, v] : headers)
      if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return std::nullopt;
  }
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // before_headers: read the request, then send nothing; after_headers: send
  // the status line and headers (announcing the body), then nothing. The
  // connection is held until the client gives up or the server stops.
  enum class Stall { none, before_headers, after_headers } stall = Stall::none;
  bool content_length = true; // false: the body ends when the connection closes
};

using TestHandler = std::function<TestResponse(const TestRequest &)>;

class HttpTestServer {
public:
  HttpTestServer() { start(); }
  ~HttpTestServer() { stop(); }
  HttpTestServer(const HttpTestServer &) = delete;
  HttpTestServer &operator=(const HttpTestServer &) = delete;

  // Listens (on the same port again after stop()) and starts the thread.
  void start() {
    if (thread_.joinable()) return;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("test server: socket failed");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("test server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    listen_fd_ = fd;
    stop_.store(false);
    thread_ = std::thread([this] { run(); });
  }

  // Closes the port (connections are refused) and joins the thread.
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

  std::uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  void handle(const std::string &path, TestHandler h) {
    std::lock_guard<std::mutex> lock(mutex_);
    handlers_[path] = std::move(h);
  }

  // Serves `body` with this ETag (and a fixed Last-Modified); a request whose
  // If-None-Match equals the ETag gets 304 Not Modified.
  void serve(const std::string &path, std::string body, std::string etag,
             std::string content_type = "application/samlmetadata+xml") {
    handle(path, [body = std::move(body), etag = std::move(etag),
                  content_type = std::move(content_type)](const TestRequest &req) {
      TestResponse r;
      r.headers = {{"ETag", etag}, {"Last-Modified", "Mon, 04 May 2026 10:00:00 GMT"}};
      if (req.header("If-None-Match") == etag) {
        r.status = 304;
        return r;
      }
      r.headers.emplace_back("Content-Type", content_type);
      r.body = body;
      return r;
    });
  }

  std::size_t requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return total_;
  }
  std::size_t requests(const std::string &path) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = per_path_.find(path);
    return it == per_path_.end() ? 0 : it->second;
  }
  // Requests that carried If-None-Match or If-Modified-Since.
  std::size_t conditional_requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return conditional_;
  }
  std::size_t not_modified_sent() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return not_modified_;
  }
  // The most recent requests (at most 256), oldest first.
  std::vector<TestRequest> request_log() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {log_.begin(), log_.end()};
  }

private:
  using Clock = std::chrono::steady_clock;

  // Waits (50 ms at a time) until fd is ready for `events`; false on stop or deadline.
  bool wait_for(int fd, short events, Clock::time_point deadline) const {
    while (!stop_.load() && Clock::now() < deadline) {
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, 50);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
    return false;
  }

  void run() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve_connection(c);
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }

  void send_all(int fd, std::string_view data) const {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!data.empty() && wait_for(fd, POLLOUT, deadline)) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return; // the client went away (e.g. it refused a large body)
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Holds the connection until the client closes it, the server stops, or 30 s.
  void stall(int fd) const {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    char buf[512];
    while (wait_for(fd, POLLIN, deadline))
      if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
  }

  static const char *reason(int status) {
    switch (status) {
    case 200:
      return "OK";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
    }
  }

  void serve_connection(int fd) {
    // Read the request head (bounded in size and time).
    std::string head;
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 64 * 1024) {
      if (!wait_for(fd, POLLIN, deadline)) return;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    TestRequest req;
    std::size_t pos = head.find("\r\n");
    const std::string line = head.substr(0, pos);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == std::string::npos ? sp1 : sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return;
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    req.path = req.target.substr(0, req.target.find('?'));
    while (pos != std::string::npos && pos + 2 < head.size()) {
      const auto next = head.find("\r\n", pos + 2);
      const std::string h = head.substr(pos + 2, next - pos - 2);
      pos = next;
      if (h.empty()) break;
      const auto colon = h.find(':');
      if (colon == std::string::npos) continue;
      auto value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      req.headers.emplace_back(h.substr(0, colon), value);
    }

    TestHandler handler;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = handlers_.find(req.path);
      if (it != handlers_.end()) handler = it->second;
    }
    TestResponse resp{404, {}, "not found\n"};
    if (handler) resp = handler(req);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++total_;
      ++per_path_[req.path];
      if (req.header("If-None-Match") || req.header("If-Modified-Since")) ++conditional_;
      if (resp.status == 304) ++not_modified_;
      log_.push_back(req);
      if (log_.size() > 256) log_.pop_front();
    }

    if (resp.stall == TestResponse::Stall::before_headers) return stall(fd);
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + reason(resp.status) + "\r\n";
    for (const auto &[n, v] : resp.headers) out += n + ": " + v + "\r\n";
    const bool bodyless = resp.status == 304 || resp.status == 204;
    if (resp.content_length && !bodyless)
      out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    send_all(fd, out);
    if (resp.stall == TestResponse::Stall::after_headers) return stall(fd);
    if (!bodyless) send_all(fd, resp.body);
  }

  std::atomic<bool> stop_{false};
  std::thread thread_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0; // 0 until the first start(): ephemeral

  mutable std::mutex mutex_;
  std::map<std::string, TestHandler> handlers_;
  std::size_t total_ = 0;
  std::size_t conditional_ = 0;
  std::size_t not_modified_ = 0;
  std::map<std::string, std::size_t> per_path_;
  std::deque<TestRequest> log_;
};

} // namespace interkonto::test
