// SPDX-License-Identifier: EUPL-1.2
#pragma once
// One error type for every failure the library reports. Each failure has a
// stable code (use it for branching, metrics and the CLI), a message that is
// safe to show a citizen, and a detail meant for the operator's log.

#include <stdexcept>
#include <string>
#include <string_view>

namespace interkonto {

enum class ErrorCode {
  // input shape
  malformed,
  dtd_forbidden,
  too_large,
  schema_invalid,
  // signatures and keys
  signature_missing,
  signature_invalid,
  wrapping,
  untrusted_key,
  algorithm_refused,
  // parties and addressing
  unknown_issuer,
  issuer_mismatch,
  destination_mismatch,
  recipient_mismatch,
  audience_mismatch,
  in_response_to_mismatch,
  unsolicited,
  // time
  not_yet_valid,
  expired,
  // content
  subject_confirmation_invalid,
  status_not_success,
  replayed,
  authn_context_insufficient,
  decryption_failed,
  untrusted_metadata,
  attribute_missing, // a required attribute is missing after mapping or release
  // not about a SAML message
  config_invalid,  // unusable configuration, key or metadata file
  request_invalid, // a browser request the endpoint cannot serve
  internal,        // a library or system failure (out of memory, ...)
};

// Stable snake_case name of a code, e.g. "audience_mismatch".
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
public:
  Error(ErrorCode code, std::string detail);

  ErrorCode code() const noexcept { return code_; }
  // Safe for a citizen: says what happened in general terms, never echoes input.
  std::string_view citizen_message() const noexcept;
  // For the operator's log; may quote (bounded) input, never attribute values.
  const std::string &detail() const noexcept { return detail_; }

private:
  ErrorCode code_;
  std::string detail_;
};

} // namespace interkonto
