//! Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016) for the per-VIP lookup ring.
//!
//! Every backend walks its own permutation of the ring slots (`offset + j * skip mod M`, from two
//! hashes of its identity) and, in turn, claims the next free slot of its permutation. Weights are
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
                offset: hash(b.id, 0x6d61_676c_6576_3031) % m,
                skip: hash(b.id, 0x736b_6970_7365_6564) % (m - 1) + 1,
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

/// FNV-1a over `seed` then `data`, finished with the SplitMix64 mixer: stable across Rust
/// versions and platforms (unlike `std`'s hasher), which keeps rings stable across restarts.
fn hash(data: &[u8], seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in seed.to_le_bytes().iter().chain(data) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
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
