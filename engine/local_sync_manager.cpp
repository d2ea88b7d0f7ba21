#include "kairos/engine/local_sync_manager.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace kairos::engine {

namespace {

bool below(const std::string& holder, const std::string& prefix) {
  return holder == prefix ||
         (holder.size() > prefix.size() && holder.compare(0, prefix.size(), prefix) == 0 &&
          holder[prefix.size()] == '/');
}

// "<ns>/semaphore/<name>/<key>" -> name, key; anything else is not a
// semaphore (mutexes always have a limit of one).
bool semaphore_parts(const std::string& key, std::string& name, std::string& item) {
  const auto first = key.find('/');
  if (first == std::string::npos) return false;
  const std::string_view rest = std::string_view(key).substr(first + 1);
  constexpr std::string_view tag = "semaphore/";
  if (rest.substr(0, tag.size()) != tag) return false;
  const auto tail = rest.substr(tag.size());
  const auto slash = tail.find('/');
  if (slash == std::string_view::npos) return false;
  name = std::string(tail.substr(0, slash));
  item = std::string(tail.substr(slash + 1));
  return !name.empty() && !item.empty() && name.find("..") == std::string::npos &&
         item.find("..") == std::string::npos && item.find('/') == std::string::npos;
}

}  // namespace

local_sync_manager::local_sync_manager(sync_settings settings) : settings_(std::move(settings)) {}

void local_sync_manager::set_on_available(std::function<void(const std::string&)> f) {
  std::lock_guard lock(mutex_);
  on_available_ = std::move(f);
}

std::int64_t local_sync_manager::limit_of(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return limit_locked(key);
}

std::size_t local_sync_manager::holders_of(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = locks_.find(key);
  return it == locks_.end() ? 0 : it->second.holders.size();
}

std::int64_t local_sync_manager::limit_locked(const std::string& key) const {
  std::string name, item;
  if (!semaphore_parts(key, name, item)) return 1;
  if (auto it = settings_.limits.find(key); it != settings_.limits.end()) return it->second;
  std::ifstream in(settings_.data_dir / "configmaps" / name / item);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto s = text.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
    std::int64_t value = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc() && p == s.data() + s.size() && value > 0) return value;
  }
  return settings_.default_limit;
}

bool local_sync_manager::try_acquire(const std::string& key, const std::string& holder) {
  std::lock_guard lock(mutex_);
  auto& st = locks_[key];
  if (st.holders.count(holder) != 0) return true;
  const auto limit = limit_locked(key);
  auto queued = std::find(st.waiting.begin(), st.waiting.end(), holder);
  // Free capacity goes to those queued first: a newcomer waits behind them.
  const auto ahead = static_cast<std::int64_t>(
      queued == st.waiting.end() ? st.waiting.size() : queued - st.waiting.begin());
  if (static_cast<std::int64_t>(st.holders.size()) + ahead < limit) {
    if (queued != st.waiting.end()) st.waiting.erase(queued);
    st.holders.insert(holder);
    return true;
  }
  if (queued == st.waiting.end()) st.waiting.push_back(holder);
  return false;
}

void local_sync_manager::restore(const std::string& key, const std::string& holder) {
  std::lock_guard lock(mutex_);
  auto& st = locks_[key];
  st.waiting.erase(std::remove(st.waiting.begin(), st.waiting.end(), holder), st.waiting.end());
  st.holders.insert(holder);
}

void local_sync_manager::release(const std::string& key, const std::string& holder) {
  std::vector<std::string> notify;
  std::function<void(const std::string&)> callback;
  {
    std::lock_guard lock(mutex_);
    auto it = locks_.find(key);
    if (it == locks_.end()) return;
    auto& st = it->second;
    const bool held = st.holders.erase(holder) != 0;
    st.waiting.erase(std::remove(st.waiting.begin(), st.waiting.end(), holder), st.waiting.end());
    if (held) notify.assign(st.waiting.begin(), st.waiting.end());
    if (st.holders.empty() && st.waiting.empty()) locks_.erase(it);
    callback = on_available_;
  }
  if (callback)
    for (const auto& h : notify) callback(h);
}

void local_sync_manager::release_all(const std::string& holder_prefix) {
  std::vector<std::pair<std::string, std::string>> held;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, st] : locks_) {
      for (const auto& h : st.holders)
        if (below(h, holder_prefix)) held.emplace_back(key, h);
      for (const auto& h : st.waiting)
        if (below(h, holder_prefix)) held.emplace_back(key, h);
    }
  }
  for (const auto& [key, h] : held) release(key, h);
}

}  // namespace kairos::engine
