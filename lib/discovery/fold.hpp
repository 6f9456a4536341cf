// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: the folding behind fold_for_search, with a second mode for the
// search haystack in which umlauts become their base letter (ü→u), so that
// "Thuringen" typed without umlaut still finds "Thüringen".

#include <string>
#include <string_view>

namespace interkonto::discovery_detail {

std::string fold(std::string_view text, bool umlauts_to_base);

} // namespace interkonto::discovery_detail
