//! How the packets of a many-SA benchmark pick their SA: uniformly, or skewed as real users'
//! traffic is (Zipf: a few tunnels carry most packets).

use crate::rng::Rng;

/// How the packets of a large set pick their SA.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spread {
    Uniform,
    /// The SA of rank k is picked with a probability proportional to 1 / k^s.
    Zipf(f64),
}

impl Spread {
    /// `Zipf(s)` for an exponent above 0, `Uniform` otherwise.
    pub fn of(zipf: Option<f64>) -> Spread {
        match zipf {
            Some(s) if s > 0.0 => Spread::Zipf(s),
            _ => Spread::Uniform,
        }
    }
}

/// `len` SA indexes below `n`, each drawn as `spread` says.
pub fn draw_order(n: usize, len: usize, spread: Spread, rng: &mut Rng) -> Vec<u32> {
    let unit = |rng: &mut Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    match spread {
        Spread::Uniform => (0..len)
            .map(|_| (rng.next_u64() % n as u64) as u32)
            .collect(),
        Spread::Zipf(s) => {
            // Cumulative weights of the ranks, then a binary search per draw; the ranks are
            // shuffled over the indexes so that the popular SAs are not neighbours in memory.
            let mut cdf = Vec::with_capacity(n);
            let mut total = 0.0;
            for k in 1..=n {
                total += 1.0 / (k as f64).powf(s);
                cdf.push(total);
            }
            let mut ids: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                ids.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            (0..len)
                .map(|_| {
                    let x = unit(rng) * total;
                    let rank = cdf.partition_point(|&c| c < x).min(n - 1);
                    ids[rank]
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: usize, len: usize, spread: Spread) -> Vec<usize> {
        let mut c = vec![0; n];
        for i in draw_order(n, len, spread, &mut Rng(7)) {
            c[i as usize] += 1;
        }
        c
    }

    #[test]
    fn uniform_draws_cover_every_sa_about_evenly() {
        let c = counts(100, 100_000, Spread::Uniform);
        assert!(c.iter().all(|&k| (800..1200).contains(&k)), "{c:?}");
    }

    #[test]
    fn zipf_one_gives_the_top_rank_about_its_share() {
        // With s = 1 over 1000 ranks, rank 1's share is 1 / H(1000) = 0.1336.
        let mut c = counts(1000, 200_000, Spread::Zipf(1.0));
        c.sort_unstable_by(|a, b| b.cmp(a));
        let top = c[0] as f64 / 200_000.0;
        assert!((0.125..0.142).contains(&top), "top share {top}");
        // Rank 2 gets about half of rank 1, rank 10 a tenth.
        let half = c[1] as f64 / c[0] as f64;
        assert!((0.44..0.56).contains(&half), "rank 2 / rank 1 {half}");
        assert!(c[999] < c[9], "the tail is thinner than rank 10");
    }

    #[test]
    fn draws_stay_below_n() {
        for spread in [Spread::Uniform, Spread::Zipf(1.2)] {
            assert!(draw_order(37, 5000, spread, &mut Rng(3))
                .iter()
                .all(|&i| i < 37));
        }
    }

    #[test]
    fn an_exponent_of_zero_or_none_is_uniform() {
        assert_eq!(Spread::of(None), Spread::Uniform);
        assert_eq!(Spread::of(Some(0.0)), Spread::Uniform);
        assert_eq!(Spread::of(Some(1.0)), Spread::Zipf(1.0));
    }
}
