// SPDX-License-Identifier: EUPL-1.2
// Search folding for the discovery page: lower case, German umlauts and ß
// expanded (ä→ae, ß→ss), other Latin-1 / Latin Extended-A diacritics
// stripped (é→e, č→c). Everything else is copied byte for byte.

#include <array>
#include <string>
#include <string_view>

#include "discovery/fold.hpp"
#include "interkonto/discovery.hpp"

namespace interkonto {

namespace {

// U+00C0..U+00FF; empty: not a letter to fold (× and ÷), copied as is.
constexpr std::array<std::string_view, 64> kLatin1 = {
    "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i",  "i", "i",  "i",  // C0..CF
    "d", "n", "o", "o", "o",  "o", "oe", "",  "o", "u", "u", "u", "ue", "y", "th", "ss", // D0..DF
    "a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i",  "i", "i",  "i",  // E0..EF
    "d", "n", "o", "o", "o",  "o", "oe", "",  "o", "u", "u", "u", "ue", "y", "th", "y",  // F0..FF
};

// U+0100..U+017F (Latin Extended-A), upper and lower case alike.
constexpr std::array<std::string_view, 128> kLatinExtA = {
    "a",  "a",  "a", "a", "a", "a",                               // 0100..0105 Ā ā Ă ă Ą ą
    "c",  "c",  "c", "c", "c", "c", "c", "c",                     // 0106..010D Ć..č
    "d",  "d",  "d", "d",                                         // 010E..0111 Ď ď Đ đ
    "e",  "e",  "e", "e", "e", "e", "e", "e", "e", "e",           // 0112..011B Ē..ě
    "g",  "g",  "g", "g", "g", "g", "g", "g",                     // 011C..0123 Ĝ..ģ
    "h",  "h",  "h", "h",                                         // 0124..0127 Ĥ..ħ
    "i",  "i",  "i", "i", "i", "i", "i", "i", "i", "i",           // 0128..0131 Ĩ..ı
    "ij", "ij",                                                   // 0132..0133 Ĳ ĳ
    "j",  "j",                                                    // 0134..0135 Ĵ ĵ
    "k",  "k",  "k",                                              // 0136..0138 Ķ ķ ĸ
    "l",  "l",  "l", "l", "l", "l", "l", "l", "l", "l",           // 0139..0142 Ĺ..ł
    "n",  "n",  "n", "n", "n", "n", "n", "n", "n",                // 0143..014B Ń..ŋ
    "o",  "o",  "o", "o", "o", "o",                               // 014C..0151 Ō..ő
    "oe", "oe",                                                   // 0152..0153 Œ œ
    "r",  "r",  "r", "r", "r", "r",                               // 0154..0159 Ŕ..ř
    "s",  "s",  "s", "s", "s", "s", "s", "s",                     // 015A..0161 Ś..š
    "t",  "t",  "t", "t", "t", "t",                               // 0162..0167 Ţ..ŧ
    "u",  "u",  "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", // 0168..0173 Ũ..ų
    "w",  "w",                                                    // 0174..0175 Ŵ ŵ
    "y",  "y",  "y",                                              // 0176..0178 Ŷ ŷ Ÿ
    "z",  "z",  "z", "z", "z", "z",                               // 0179..017E Ź..ž
    "s",                                                          // 017F ſ
};

// Anchors that catch a miscounted table row.
static_assert(kLatinExtA[0x0D] == "c" && kLatinExtA[0x32] == "ij" && kLatinExtA[0x42] == "l" &&
              kLatinExtA[0x52] == "oe" && kLatinExtA[0x61] == "s" && kLatinExtA[0x7E] == "z" &&
              kLatinExtA[0x7F] == "s");
static_assert(kLatin1[0x1F] == "ss" && kLatin1[0x3C] == "ue" && kLatin1[0x3F] == "y");

bool is_cont(unsigned char b) noexcept {
  return (b & 0xC0U) == 0x80U;
}

} // namespace

namespace discovery_detail {

std::string fold(std::string_view text, bool umlauts_to_base) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80U) {
      out.push_back((b0 >= 'A' && b0 <= 'Z') ? static_cast<char>(b0 - 'A' + 'a') : static_cast<char>(b0));
      ++i;
      continue;
    }
    // Two-byte sequences U+00C0..U+017F: lead bytes C3, C4, C5.
    if ((b0 == 0xC3U || b0 == 0xC4U || b0 == 0xC5U) && i + 1 < text.size() &&
        is_cont(static_cast<unsigned char>(text[i + 1]))) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      const unsigned cp = ((b0 & 0x1FU) << 6U) | (b1 & 0x3FU);
      std::string_view repl;
      if (cp >= 0xC0U && cp <= 0xFFU)
        repl = kLatin1[cp - 0xC0U];
      else if (cp >= 0x100U && cp <= 0x17FU)
        repl = kLatinExtA[cp - 0x100U];
      if (repl.empty()) {
        out.append(text.substr(i, 2));
      } else if (umlauts_to_base && repl.size() == 2 && repl[1] == 'e' &&
                 (repl[0] == 'a' || repl[0] == 'o' || repl[0] == 'u') &&
                 (cp == 0xC4U || cp == 0xD6U || cp == 0xDCU || cp == 0xE4U || cp == 0xF6U || cp == 0xFCU)) {
        out.push_back(repl[0]); // ä → a (second search key)
      } else {
        out.append(repl);
      }
      i += 2;
      continue;
    }
    // U+1E9E LATIN CAPITAL LETTER SHARP S (E1 BA 9E).
    if (b0 == 0xE1U && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xBAU &&
        static_cast<unsigned char>(text[i + 2]) == 0x9EU) {
      out.append("ss");
      i += 3;
      continue;
    }
    out.push_back(static_cast<char>(b0)); // other bytes as they are
    ++i;
  }
  return out;
}

} // namespace discovery_detail

std::string fold_for_search(std::string_view text) {
  return discovery_detail::fold(text, false);
}

} // namespace interkonto
