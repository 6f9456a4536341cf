// SPDX-License-Identifier: EUPL-1.2
#pragma once
// The bounded in-memory stores keep their items in a map by key plus an
// index ordered by expiry; these two operations are shared by all of them
// (session stores and the proxy's pending store). Callers hold their lock.

#include <map>
#include <string>

#include "interkonto/clock.hpp"

namespace interkonto::expiry {

// Removes entries whose expiry has passed; `index` is ordered by expiry.
template <class Map>
void purge_expired(Map &items, std::multimap<TimePoint, std::string> &index, TimePoint now) {
  auto it = index.begin();
  while (it != index.end() && it->first <= now) {
    auto found = items.find(it->second);
    if (found != items.end()) items.erase(found);
    it = index.erase(it);
  }
}

template <class Map> void drop_oldest(Map &items, std::multimap<TimePoint, std::string> &index) {
  // Index entries can be stale (an item re-put with another expiry); skip them.
  while (!index.empty()) {
    auto it = index.begin();
    auto found = items.find(it->second);
    index.erase(it);
    if (found != items.end()) {
      items.erase(found);
      return;
    }
  }
}

} // namespace interkonto::expiry
