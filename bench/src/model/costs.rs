//! The model's side of the costs in [`crate::costs`]: Kafka hops drawn from their distribution,
//! and a per-host Docker daemon in virtual time whose serial sections run one at a time.

use super::events::{Micros, ms};
use super::rng::SplitMix64;
pub use crate::costs::{Costs, DockerOp, OpCost};

/// One Kafka hop of `costs`, drawn.
pub fn kafka_hop(costs: &Costs, rng: &mut SplitMix64) -> Micros {
    let tail = (costs.kafka_hop_mean_ms - costs.kafka_hop_min_ms).max(0.0);
    ms(costs.kafka_hop_min_ms - tail * (1.0 - rng.unit()).ln())
}

/// One host's Docker daemon: requests take the serial section in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Daemon {
    serial_free_at: Micros,
    /// Operations performed, for reports.
    pub ops: u64,
}

impl Daemon {
    /// Issues `op` at `now`; returns when it completes.
    pub fn perform(
        &mut self,
        op: DockerOp,
        now: Micros,
        costs: &Costs,
        rng: &mut SplitMix64,
    ) -> Micros {
        let cost = costs.op(op);
        let start = self.serial_free_at.max(now);
        self.serial_free_at = start + ms(cost.serial_ms);
        self.ops += 1;
        self.serial_free_at + ms(rng.between(cost.parallel_ms.0, cost.parallel_ms.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_serialises_the_serial_part_only() {
        let costs = Costs::talk();
        let mut rng = SplitMix64::new(3);
        let mut d = Daemon::default();
        let done: Vec<Micros> = (0..10)
            .map(|_| d.perform(DockerOp::Run, 0, &costs, &mut rng))
            .collect();
        // Ten runs issued together: the last serial section ends at 10 × 60 ms.
        assert_eq!(d.serial_free_at, ms(600.0));
        assert!(done.iter().all(|&t| t >= ms(400.0) && t <= ms(1500.0)));
        // An idle daemon later starts at once.
        let t = d.perform(DockerOp::Remove, ms(5000.0), &costs, &mut rng);
        assert!(t >= ms(5100.0) && t <= ms(5340.0));
        assert_eq!(d.ops, 11);
    }

    #[test]
    fn kafka_hops_have_the_configured_floor_and_mean() {
        let c = Costs::talk();
        let mut rng = SplitMix64::new(5);
        let hops: Vec<Micros> = (0..50_000).map(|_| kafka_hop(&c, &mut rng)).collect();
        assert!(hops.iter().all(|&h| h >= ms(c.kafka_hop_min_ms)));
        let mean = hops.iter().sum::<Micros>() as f64 / hops.len() as f64 / 1000.0;
        assert!((mean - c.kafka_hop_mean_ms).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn presets_by_name() {
        assert_eq!(Costs::preset("talk"), Some(Costs::talk()));
        assert_eq!(Costs::preset("measured"), Some(Costs::measured()));
        assert_eq!(Costs::preset("other"), None);
    }
}
