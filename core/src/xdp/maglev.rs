//! Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016) for the per-VIP lookup ring.
//!
//! Every backend walks its own permutation of the ring slots (`offset + j * skip mod M`, from two
//! hashes of its identity) and, in turn, claims the next free slot of its permutation. The
//! permutations are Katran's (`MaglevBase::genMaglevPermutation`): the identity as a 64-bit
//! number ([`identity_value`]) through the first 64 bits of MurmurHash3_x64_128 (the public
//! domain algorithm, implemented here) over (value, 42) with seed 0 for the offset and over
//! (value, 2,718,281,828) with seed 2,307 for the skip; the fill order (backends in identity
//! order, one claim per pass once the accumulated weight reaches the largest weight) is that
//! of Katran's `MaglevHashV2`, so for the same backend set both compute the same ring (checked
//! against Katran's C++ by `make test-xdp-katran`). Weights are
//! applied by letting a backend claim a slot only when its accumulated weight reaches the largest
//! weight, so slot counts are proportional to weights; with equal weights every backend claims
//! one slot per round and counts differ by at most one. A backend with weight 0 (drained) claims
//! nothing. The result depends only on the set of (identity, weight) pairs, not on their order,
//! so a restarted control plane computes the same ring.

/// One backend as Maglev sees it: a stable identity (e.g. its address bytes) and a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaglevBackend<'a> {
    /// Bytes that identify the backend; equal identities give equal permutations.
    pub id: &'a [u8],
    /// Relative weight; 0 means the backend gets no slot.
    pub weight: u32,
}

/// Computes a ring of `size` slots (a prime, 65,537 for the data plane). Each slot holds the
/// index into `backends` of its owner, or `None` when no backend has a weight.
pub fn build_ring(backends: &[MaglevBackend<'_>], size: u32) -> Vec<Option<u32>> {
    assert!(size >= 2, "Maglev ring size must be a prime of at least 2");
    let m = size as u64;
    let mut ring: Vec<Option<u32>> = vec![None; size as usize];
    // Deterministic order independent of the caller's: by identity, then by position.
    let mut order: Vec<usize> = (0..backends.len())
        .filter(|&i| backends[i].weight > 0)
        .collect();
    order.sort_by(|&a, &b| backends[a].id.cmp(backends[b].id).then(a.cmp(&b)));
    if order.is_empty() {
        return ring;
    }
    let max_weight = order.iter().map(|&i| backends[i].weight).max().unwrap_or(1) as u64;
    struct Walker {
        index: u32,
        offset: u64,
        skip: u64,
        next: u64,
        weight: u64,
        credit: u64,
    }
    let mut walkers: Vec<Walker> = order
        .iter()
        .map(|&i| {
            let b = &backends[i];
            Walker {
                index: i as u32,
                offset: murmur3_x64_64(identity_value(b.id), OFFSET_B, OFFSET_SEED) % m,
                skip: murmur3_x64_64(identity_value(b.id), SKIP_B, SKIP_SEED) % (m - 1) + 1,
                next: 0,
                weight: b.weight as u64,
                credit: 0,
            }
        })
        .collect();
    let mut filled = 0u64;
    loop {
        for w in walkers.iter_mut() {
            w.credit += w.weight;
            if w.credit < max_weight {
                continue;
            }
            w.credit -= max_weight;
            loop {
                let slot = ((w.offset + w.next * w.skip) % m) as usize;
                w.next += 1;
                if ring[slot].is_none() {
                    ring[slot] = Some(w.index);
                    break;
                }
            }
            filled += 1;
            if filled == m {
                return ring;
            }
        }
    }
}

/// Second key word and seed of the offset hash (Katran's kHashSeed2, kHashSeed0).
const OFFSET_B: u64 = 42;
const OFFSET_SEED: u32 = 0;
/// Second key word and seed of the skip hash (Katran's kHashSeed3, kHashSeed1).
const SKIP_B: u64 = 2_718_281_828;
const SKIP_SEED: u32 = 2307;

/// A backend identity as the 64-bit number the permutation hash takes (Katran's
/// `Endpoint::hash`): an IPv4 address, as 4 bytes or IPv4-mapped IPv6 (`::ffff:a.b.c.d`), is
/// its address as a number (so IPv4 backends get the permutations Katran gives them);
/// anything else is read as big-endian 8-byte words (the last one zero-padded) xored
/// together, which keeps every IPv6 address of one /64 distinct.
pub fn identity_value(id: &[u8]) -> u64 {
    let id = match id {
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4 @ ..] => v4,
        _ => id,
    };
    id.chunks(8).fold(0u64, |acc, c| {
        let mut w = [0u8; 8];
        w[8 - c.len()..].copy_from_slice(c);
        acc ^ u64::from_be_bytes(w)
    })
}

/// The first 64-bit word of MurmurHash3_x64_128 (Austin Appleby's public-domain algorithm)
/// over the 16-byte key made of `a` and `b` (little-endian words, one block, no tail), with
/// `seed`: the function Katran's Maglev uses (`MurmurHash3_x64_64(A, B, seed)`).
pub fn murmur3_x64_64(a: u64, b: u64, seed: u32) -> u64 {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    fn fmix(mut k: u64) -> u64 {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }
    let (mut h1, mut h2) = (seed as u64, seed as u64);
    h1 ^= a.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    h1 = h1
        .rotate_left(27)
        .wrapping_add(h2)
        .wrapping_mul(5)
        .wrapping_add(0x52dc_e729);
    h2 ^= b.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    h2 = h2
        .rotate_left(31)
        .wrapping_add(h1)
        .wrapping_mul(5)
        .wrapping_add(0x3849_5ab5);
    // Finalization: the key length (16) into both halves, then the avalanche.
    h1 ^= 16;
    h2 ^= 16;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    fmix(h1).wrapping_add(fmix(h2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u32 = 65_537;

    fn ids(n: usize) -> Vec<[u8; 4]> {
        (0..n).map(|i| [10, 0, (i >> 8) as u8, i as u8]).collect()
    }

    fn counts(ring: &[Option<u32>], n: usize) -> Vec<u64> {
        let mut c = vec![0u64; n];
        for s in ring {
            c[s.expect("every slot filled") as usize] += 1;
        }
        c
    }

    /// Values printed by benches/xdp/katran's `maglev_tool hash` (whose rings equal those of the
    /// tool built with Katran's own MurmurHash3.cpp on 300 random endpoints, checked once by
    /// hand) for the same inputs.
    #[test]
    fn murmur3_matches_the_cpp_side() {
        assert_eq!(
            murmur3_x64_64(167_772_160, 42, 0),
            17_392_833_792_498_609_962
        );
        assert_eq!(
            murmur3_x64_64(167_772_160, 2_718_281_828, 2307),
            14_257_810_598_884_532_447
        );
        assert_eq!(murmur3_x64_64(1, 2, 3), 10_457_249_316_712_511_538);
    }

    #[test]
    fn identity_values() {
        assert_eq!(identity_value(&[10, 0, 0, 1]), 0x0a00_0001);
        let mapped = std::net::Ipv4Addr::new(10, 0, 0, 1)
            .to_ipv6_mapped()
            .octets();
        assert_eq!(identity_value(&mapped), 0x0a00_0001);
        let v6: std::net::Ipv6Addr = "2001:db8::5".parse().unwrap();
        assert_eq!(identity_value(&v6.octets()), 0x2001_0db8_0000_0000 ^ 5);
    }

    #[test]
    fn balanced_within_one_percent_for_10_to_650_backends() {
        for n in [10usize, 11, 50, 100, 257, 500, 650] {
            let ids = ids(n);
            let bs: Vec<_> = ids
                .iter()
                .map(|id| MaglevBackend { id, weight: 1 })
                .collect();
            let ring = build_ring(&bs, M);
            let c = counts(&ring, n);
            let avg = M as f64 / n as f64;
            let max = *c.iter().max().unwrap() as f64;
            assert!(max <= avg * 1.01, "n={n}: max {max} avg {avg}");
            assert!(c.iter().all(|&x| x > 0));
        }
    }

    #[test]
    fn removing_one_backend_moves_at_most_its_share_plus_one_percent() {
        for n in [10usize, 100, 650] {
            let ids = ids(n);
            let bs: Vec<_> = ids
                .iter()
                .map(|id| MaglevBackend { id, weight: 1 })
                .collect();
            let before = build_ring(&bs, M);
            let removed = n / 2;
            let rest: Vec<_> = bs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != removed)
                .map(|(_, b)| *b)
                .collect();
            let after = build_ring(&rest, M);
            // Map `after` indices back to the original ones.
            let moved = before
                .iter()
                .zip(&after)
                .filter(|(b, a)| {
                    let a = a.unwrap() as usize;
                    let a = if a >= removed { a + 1 } else { a };
                    b.unwrap() as usize != a
                })
                .count() as f64;
            let limit = M as f64 * (1.0 / n as f64 + 0.01);
            assert!(moved <= limit, "n={n}: moved {moved} > {limit}");
            // At least the removed backend's own slots had to move.
            assert!(moved >= (M as usize / n) as f64 * 0.99);
        }
    }

    #[test]
    fn weights_are_proportional_and_zero_weight_gets_nothing() {
        let ids = ids(4);
        let weights = [1u32, 2, 3, 0];
        let bs: Vec<_> = ids
            .iter()
            .zip(weights)
            .map(|(id, weight)| MaglevBackend { id, weight })
            .collect();
        let c = counts(&build_ring(&bs, M), 4);
        assert_eq!(c[3], 0);
        let unit = M as f64 / 6.0;
        for (i, w) in weights[..3].iter().enumerate() {
            let expect = unit * *w as f64;
            assert!(
                (c[i] as f64 - expect).abs() <= expect * 0.01,
                "{i}: {} vs {expect}",
                c[i]
            );
        }
    }

    #[test]
    fn order_does_not_matter_and_empty_gives_empty_ring() {
        let ids = ids(20);
        let bs: Vec<_> = ids
            .iter()
            .map(|id| MaglevBackend { id, weight: 1 })
            .collect();
        let mut rev = bs.clone();
        rev.reverse();
        let a = build_ring(&bs, M);
        let b = build_ring(&rev, M);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(bs[x.unwrap() as usize].id, rev[y.unwrap() as usize].id);
        }
        assert!(build_ring(&[], M).iter().all(Option::is_none));
        let drained = [MaglevBackend {
            id: b"x",
            weight: 0,
        }];
        assert!(build_ring(&drained, M).iter().all(Option::is_none));
    }
}
