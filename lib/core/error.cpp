// SPDX-License-Identifier: EUPL-1.2
#include "interkonto/error.hpp"

#include <fmt/format.h>

namespace interkonto {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
  case ErrorCode::malformed:
    return "malformed";
  case ErrorCode::dtd_forbidden:
    return "dtd_forbidden";
  case ErrorCode::too_large:
    return "too_large";
  case ErrorCode::schema_invalid:
    return "schema_invalid";
  case ErrorCode::signature_missing:
    return "signature_missing";
  case ErrorCode::signature_invalid:
    return "signature_invalid";
  case ErrorCode::wrapping:
    return "wrapping";
  case ErrorCode::untrusted_key:
    return "untrusted_key";
  case ErrorCode::algorithm_refused:
    return "algorithm_refused";
  case ErrorCode::unknown_issuer:
    return "unknown_issuer";
  case ErrorCode::issuer_mismatch:
    return "issuer_mismatch";
  case ErrorCode::destination_mismatch:
    return "destination_mismatch";
  case ErrorCode::recipient_mismatch:
    return "recipient_mismatch";
  case ErrorCode::audience_mismatch:
    return "audience_mismatch";
  case ErrorCode::in_response_to_mismatch:
    return "in_response_to_mismatch";
  case ErrorCode::unsolicited:
    return "unsolicited";
  case ErrorCode::not_yet_valid:
    return "not_yet_valid";
  case ErrorCode::expired:
    return "expired";
  case ErrorCode::subject_confirmation_invalid:
    return "subject_confirmation_invalid";
  case ErrorCode::status_not_success:
    return "status_not_success";
  case ErrorCode::replayed:
    return "replayed";
  case ErrorCode::authn_context_insufficient:
    return "authn_context_insufficient";
  case ErrorCode::decryption_failed:
    return "decryption_failed";
  case ErrorCode::untrusted_metadata:
    return "untrusted_metadata";
  case ErrorCode::attribute_missing:
    return "attribute_missing";
  case ErrorCode::config_invalid:
    return "config_invalid";
  case ErrorCode::request_invalid:
    return "request_invalid";
  case ErrorCode::internal:
    return "internal";
  }
  return "internal";
}

Error::Error(ErrorCode code, std::string detail)
    : std::runtime_error(fmt::format("{}: {}", to_string(code), detail)), code_(code),
      detail_(std::move(detail)) {}

std::string_view Error::citizen_message() const noexcept {
  switch (code_) {
  case ErrorCode::status_not_success:
    return "Die Anmeldung wurde beim Nutzerkonto nicht abgeschlossen. / The login was not completed at the "
           "account.";
  case ErrorCode::authn_context_insufficient:
    return "Das Vertrauensniveau der Anmeldung reicht für diesen Dienst nicht aus. / The trust level of the "
           "login "
           "is not sufficient for this service.";
  case ErrorCode::replayed:
  case ErrorCode::in_response_to_mismatch:
  case ErrorCode::unsolicited:
    return "Diese Anmeldung wurde bereits verarbeitet oder ist abgelaufen. Bitte melden Sie sich erneut an. "
           "/ This "
           "login was already processed or has expired. Please log in again.";
  case ErrorCode::expired:
  case ErrorCode::not_yet_valid:
    return "Die Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an. / The login has expired. Please "
           "log in "
           "again.";
  case ErrorCode::attribute_missing:
    return "Das Nutzerkonto hat nicht alle Angaben übermittelt, die dieser Dienst benötigt. / "
           "The account did not provide all the data this service needs.";
  case ErrorCode::request_invalid:
    return "Die Anfrage ist ungültig. / The request is invalid.";
  case ErrorCode::config_invalid:
  case ErrorCode::internal:
  case ErrorCode::untrusted_metadata:
    return "Der Dienst ist vorübergehend nicht verfügbar. / The service is temporarily unavailable.";
  default:
    return "Die Anmeldung konnte nicht überprüft werden. Bitte melden Sie sich erneut an. / The login could "
           "not be "
           "verified. Please log in again.";
  }
}

} // namespace interkonto
