// lbnet's own implementation of the function Katran's Maglev construction calls
// (katran/lib/MaglevBase.cpp: MurmurHash3_x64_64(A, B, seed)), which the Katran peer tarball
// does not contain. build-maglev.sh puts this directory on the include path, so Katran's
// unmodified MaglevBase.cpp finds it as "katran/lib/MurmurHash3.h".
//
// The value is the first 64-bit word of MurmurHash3_x64_128 (Austin Appleby's algorithm,
// public domain) over the 16-byte key made of the little-endian words A and B, with `seed`:
// one body block, no tail. lbnet's Rust side computes the same (core/src/xdp/maglev.rs,
// murmur3_x64_64); maglev_tool.cpp's "selftest" checks both on fixed inputs.
#pragma once

#include <cstdint>

namespace katran {

namespace lbnet_murmur {
inline uint64_t rotl(uint64_t v, int n) { return (v << n) | (v >> (64 - n)); }
inline uint64_t avalanche(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ULL;
  return v ^ (v >> 33);
}
}  // namespace lbnet_murmur

inline uint64_t MurmurHash3_x64_64(const uint64_t& A, const uint64_t& B, const uint32_t seed) {
  using namespace lbnet_murmur;
  const uint64_t m1 = 0x87c37b91114253d5ULL, m2 = 0x4cf5ad432745937fULL;
  uint64_t lo = seed, hi = seed;
  lo ^= rotl(A * m1, 31) * m2;
  lo = (rotl(lo, 27) + hi) * 5 + 0x52dce729;
  hi ^= rotl(B * m2, 33) * m1;
  hi = (rotl(hi, 31) + lo) * 5 + 0x38495ab5;
  lo ^= 16;  // key length
  hi ^= 16;
  lo += hi;
  hi += lo;
  return avalanche(lo) + avalanche(hi);
}

}  // namespace katran
