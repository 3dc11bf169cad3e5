//! The old controller's side of placement (`ShardingContainerPoolBalancer`, spec §8.2–8.4):
//! the home invoker by hash, co-prime step sizes, per-controller slot semaphores and the
//! placement walk. Concurrency-1 actions only (what the talk's benchmark ran).

use super::rng::SplitMix64;

/// Java's `String.hashCode`: the 31-polynomial over UTF-16 code units, wrapping at 32 bits.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Step sizes for a partition of `n` invokers: co-prime with `n` and with each other.
pub fn step_sizes(n: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = Vec::new();
    for x in 1..=n {
        if gcd(x, n) == 1 && steps.iter().all(|&y| gcd(x, y) == 1) {
            steps.push(x);
        }
    }
    steps
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Where the walk for an action starts and how far it jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    pub home: usize,
    pub step: usize,
}

/// Home invoker and step for `namespace` and `fqn` (`namespace[/package]/name`, no version)
/// in a partition of `n` invokers with step sizes `steps`.
pub fn walk_for(namespace: &str, fqn: &str, n: usize, steps: &[usize]) -> Walk {
    let mixed = java_string_hash(namespace) ^ java_string_hash(fqn);
    // Java's Math.abs leaves Int.MIN_VALUE negative (a negative index would throw there);
    // the unsigned magnitude keeps the index in range and equals abs for every other value.
    let h = mixed.unsigned_abs() as usize;
    Walk {
        home: h % n.max(1),
        step: steps.get(h % steps.len().max(1)).copied().unwrap_or(1),
    }
}

/// How a placement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Slots taken on this invoker during the walk.
    Fits(usize),
    /// Every probe failed: a random invoker, slots forced (the "system overloaded" path).
    Forced(usize),
}

impl Placed {
    pub fn invoker(self) -> usize {
        match self {
            Placed::Fits(i) | Placed::Forced(i) => i,
        }
    }
}

/// One controller's memory semaphores, one per invoker (all invokers healthy in the model).
#[derive(Debug, Clone)]
pub struct SlotTable {
    free_mb: Vec<i64>,
}

impl SlotTable {
    /// Each controller gets `max(128, user_memory / controllers)` MB of each invoker.
    pub fn new(invokers: usize, user_memory_mb: i64, controllers: usize) -> Self {
        let permits = (user_memory_mb / controllers.max(1) as i64).max(128);
        Self {
            free_mb: vec![permits; invokers],
        }
    }

    #[cfg(test)]
    pub fn free_mb(&self, invoker: usize) -> i64 {
        self.free_mb[invoker]
    }

    fn try_acquire(&mut self, invoker: usize, mem: i64) -> bool {
        let fits = self.free_mb[invoker] >= mem;
        if fits {
            self.free_mb[invoker] -= mem;
        }
        fits
    }

    /// The walk of spec §8.4: n + 2 probes from home by step, then a forced random choice.
    pub fn place(&mut self, walk: Walk, mem: i64, rng: &mut SplitMix64) -> Placed {
        let n = self.free_mb.len();
        let mut idx = walk.home;
        for _ in 0..n + 2 {
            if self.try_acquire(idx, mem) {
                return Placed::Fits(idx);
            }
            idx = (idx + walk.step) % n;
        }
        let chosen = rng.index(n);
        self.free_mb[chosen] -= mem;
        Placed::Forced(chosen)
    }

    /// Returns the slots on the completion ack.
    pub fn release(&mut self, invoker: usize, mem: i64) {
        self.free_mb[invoker] += mem;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Wraps at 32 bits like Java.
        assert_eq!(java_string_hash("guest/hello-world-action"), {
            let mut h: i32 = 0;
            for c in "guest/hello-world-action".chars() {
                h = h.wrapping_mul(31).wrapping_add(c as i32);
            }
            h
        });
    }

    #[test]
    fn step_sizes_pinned_by_the_stock_tests() {
        assert_eq!(step_sizes(0), Vec::<usize>::new());
        assert_eq!(step_sizes(1), vec![1]);
        assert_eq!(step_sizes(2), vec![1]);
        assert_eq!(step_sizes(3), vec![1, 2]);
        assert_eq!(step_sizes(4), vec![1, 3]);
        assert_eq!(step_sizes(5), vec![1, 2, 3]);
        assert_eq!(step_sizes(9), vec![1, 2, 5, 7]);
        assert_eq!(step_sizes(10), vec![1, 3, 7]);
    }

    #[test]
    fn slots_are_sharded_per_controller_with_a_floor() {
        assert_eq!(SlotTable::new(3, 2048, 2).free_mb(0), 1024);
        assert_eq!(SlotTable::new(3, 200, 4).free_mb(2), 128);
    }

    #[test]
    fn walk_fills_home_then_steps_then_forces() {
        let mut slots = SlotTable::new(4, 512, 1);
        let mut rng = SplitMix64::new(1);
        let walk = Walk { home: 1, step: 3 };
        let placed: Vec<Placed> = (0..9).map(|_| slots.place(walk, 256, &mut rng)).collect();
        let order: Vec<usize> = placed.iter().map(|p| p.invoker()).collect();
        assert_eq!(&order[..8], &[1, 1, 0, 0, 3, 3, 2, 2]);
        assert!(matches!(placed[8], Placed::Forced(_)));
        let forced = placed[8].invoker();
        assert_eq!(slots.free_mb(forced), -256);
        slots.release(forced, 256);
        assert_eq!(slots.free_mb(forced), 0);
    }

    #[test]
    fn home_and_step_stay_in_range() {
        let steps = step_sizes(9);
        for i in 0..1000 {
            let w = walk_for("guest", &format!("guest/a{i}"), 9, &steps);
            assert!(w.home < 9 && steps.contains(&w.step));
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_step_visits_every_invoker(n in 1usize..64) {
            for step in step_sizes(n) {
                let mut seen = vec![false; n];
                let mut idx = 0;
                for _ in 0..n {
                    seen[idx] = true;
                    idx = (idx + step) % n;
                }
                prop_assert!(seen.iter().all(|&s| s));
            }
        }

        #[test]
        fn acquire_then_release_restores_the_slots(
            n in 1usize..12, mem_mb in 1i64..4096, places in 1usize..200, seed in any::<u64>()
        ) {
            let mut slots = SlotTable::new(n, mem_mb, 2);
            let start: Vec<i64> = (0..n).map(|i| slots.free_mb(i)).collect();
            let mut rng = SplitMix64::new(seed);
            let walk = Walk { home: seed as usize % n, step: 1 };
            let taken: Vec<Placed> = (0..places).map(|_| slots.place(walk, 256, &mut rng)).collect();
            for p in taken {
                slots.release(p.invoker(), 256);
            }
            let end: Vec<i64> = (0..n).map(|i| slots.free_mb(i)).collect();
            prop_assert_eq!(start, end);
        }
    }
}
