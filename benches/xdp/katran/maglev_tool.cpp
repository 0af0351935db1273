// Prints the Maglev ring Katran's own construction (katran/lib/MaglevHash*.cpp, unmodified,
// from the peer tarball) computes for a set of endpoints, for benches/xdp's side-by-side
// comparison with lbnet's construction (core/src/xdp/maglev.rs).
//
// Usage: maglev_tool v1|v2 [ring_size] < endpoints
//        maglev_tool hash < "a b seed" lines: prints MurmurHash3_x64_64(a, b, seed) per line (the
//        hash the permutations come from, as this build links it), for lbnet's known-answer test.
//   v1 = HashFunction::Maglev (Katran's default, KatranConfig::hashFunction),
//   v2 = HashFunction::MaglevV2 (weights through accumulated credit).
// stdin: one endpoint per line, "num weight hash" (decimal; hash is Endpoint::hash, a 64-bit
// identity; Katran uses the real's address hash). stdout: ring_size lines, the owning num of
// each slot (-1 when empty).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "katran/lib/CHHelpers.h"
#include "katran/lib/MurmurHash3.h"

int main(int argc, char **argv) {
  if (argc == 2 && std::strcmp(argv[1], "hash") == 0) {
    unsigned long long a, b;
    unsigned long seed;
    while (std::scanf("%llu %llu %lu", &a, &b, &seed) == 3) {
      uint64_t x = a, y = b;
      std::printf("%llu\n", (unsigned long long)katran::MurmurHash3_x64_64(x, y, (uint32_t)seed));
    }
    return 0;
  }
  if (argc < 2 || (std::strcmp(argv[1], "v1") != 0 && std::strcmp(argv[1], "v2") != 0)) {
    std::fprintf(stderr, "usage: maglev_tool v1|v2 [ring_size] < endpoints\n");
    return 2;
  }
  uint32_t size = argc > 2 ? (uint32_t)std::strtoul(argv[2], nullptr, 10) : katran::kDefaultChRingSize;
  std::vector<katran::Endpoint> eps;
  unsigned long num, weight;
  unsigned long long hash;
  while (std::scanf("%lu %lu %llu", &num, &weight, &hash) == 3) {
    eps.push_back(katran::Endpoint{(uint32_t)num, (uint32_t)weight, (uint64_t)hash});
  }
  auto ch = katran::CHFactory::make(std::strcmp(argv[1], "v1") == 0 ? katran::HashFunction::Maglev
                                                                     : katran::HashFunction::MaglevV2);
  auto ring = ch->generateHashRing(eps, size);
  std::vector<char> out;
  out.reserve(ring.size() * 6);
  char buf[16];
  for (int v : ring) {
    int n = std::snprintf(buf, sizeof buf, "%d\n", v);
    out.insert(out.end(), buf, buf + n);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
