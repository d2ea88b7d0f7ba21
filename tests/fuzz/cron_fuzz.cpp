// Fuzz target: cron expressions come from manifests and the API. Whatever
// the bytes, parsing returns a result and next() terminates.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kairos/cron/schedule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = kairos::cron::schedule::parse(text, "Australia/Lord_Howe");
  if (s) {
    // A fixed start near a transition exercises the DST paths.
    const kairos::cron::time_point start{std::chrono::seconds{1712411000}};
    (void)s->next_n(start, 4);
    (void)s->next(kairos::cron::time_point::max());
  } else {
    (void)s.error().message.size();
  }
  return 0;
}
