//! What Docker and the activation path cost, shared by the model and the simulated invokers of
//! the live runs: Docker operations on a per-host daemon that serialises part of
//! every request, `/init`, and the hops on the activation path.
//!
//! Each Docker operation has a serial part (the daemon works on one request's serial part at a
//! time, so it sets the daemon's rate) and a parallel part (waiting on the kernel, containerd,
//! the runtime; it sets the latency). This reproduces both figures we have: a rate per daemon
//! and a latency per operation.

/// One Docker operation: serial part and the range of its parallel part, in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpCost {
    pub serial_ms: f64,
    pub parallel_ms: (f64, f64),
}

/// Every cost of the model and the simulated invokers. Plain data: presets below, or set fields
/// directly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    /// Preset name, for reports.
    pub name: &'static str,
    /// `docker run` (create + start).
    pub run: OpCost,
    /// `docker rm -f`.
    pub remove: OpCost,
    pub pause: OpCost,
    pub unpause: OpCost,
    /// `/init` of a fresh container (not a daemon operation).
    pub init_ms: f64,
    /// One Kafka hop, produce to consume (controller → invoker or scheduler; ack → controller):
    /// this minimum plus an exponential tail, with this mean.
    pub kafka_hop_min_ms: f64,
    pub kafka_hop_mean_ms: f64,
    /// One gRPC round trip between a container's client and the scheduler.
    pub grpc_rtt_ms: f64,
    /// HTTP `/run` overhead on top of the action's own execution time.
    pub run_http_ms: f64,
}

/// Path costs shared by both presets. The Kafka hop's mean is the one figure calibrated against
/// the talk: 2 hops + `/run` + a 2 ms action = 5 ms = 100 users / 20,000 TPS, the old design's
/// warm path with one action. Its spread is what real brokers show: a floor of 0.5 ms and an
/// exponential tail, p99 ≈ 4 ms (published p99 5 ms at load, anchors §3.1). The spread matters:
/// without it a closed loop of identical requests runs in lock-step and never leaves home.
/// gRPC: measured tonic unary p50 0.10–0.21 ms (anchors §3.2). `/run`: a loopback HTTP/1.1 call.
const KAFKA_HOP_MIN_MS: f64 = 0.5;
const KAFKA_HOP_MEAN_MS: f64 = 1.25;
const GRPC_RTT_MS: f64 = 0.2;
const RUN_HTTP_MS: f64 = 0.5;

impl Costs {
    /// Measured on this machine (anchors §3.2): create+start 209–284 ms at 3.4–4.6/s sequential;
    /// rm 56–76 ms; run→rm with 4 in parallel ≈ 5.5 cycles/s, i.e. ≈ 180 ms serial per cycle;
    /// pause/unpause 12–16 ms at 62–83/s. `/init` was not measured: 20 ms is an estimate for
    /// the Python runtime loading a one-line action.
    pub fn measured() -> Self {
        Self {
            name: "measured",
            run: OpCost {
                serial_ms: 140.0,
                parallel_ms: (70.0, 140.0),
            },
            remove: OpCost {
                serial_ms: 40.0,
                parallel_ms: (16.0, 36.0),
            },
            pause: OpCost {
                serial_ms: 12.0,
                parallel_ms: (0.0, 3.0),
            },
            unpause: OpCost {
                serial_ms: 12.0,
                parallel_ms: (0.0, 4.0),
            },
            init_ms: 20.0,
            kafka_hop_min_ms: KAFKA_HOP_MIN_MS,
            kafka_hop_mean_ms: KAFKA_HOP_MEAN_MS,
            grpc_rtt_ms: GRPC_RTT_MS,
            run_http_ms: RUN_HTTP_MS,
        }
    }

    /// The talk's figures (anchors §3.1): run→rm 500–1,300 ms on a daemon that serialises
    /// ~10 cycles/s (100 ms serial per run+rm), pause→unpause 50–400 ms at ~37 pairs/s (27 ms
    /// serial per pair). `/init` 50 ms.
    pub fn talk() -> Self {
        Self {
            name: "talk",
            run: OpCost {
                serial_ms: 60.0,
                parallel_ms: (340.0, 900.0),
            },
            remove: OpCost {
                serial_ms: 40.0,
                parallel_ms: (60.0, 300.0),
            },
            pause: OpCost {
                serial_ms: 13.5,
                parallel_ms: (11.5, 186.5),
            },
            unpause: OpCost {
                serial_ms: 13.5,
                parallel_ms: (11.5, 186.5),
            },
            init_ms: 50.0,
            ..Self::measured()
        }
    }

    /// A preset by name (`measured` or `talk`).
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "measured" => Some(Self::measured()),
            "talk" => Some(Self::talk()),
            _ => None,
        }
    }

    /// The cost of `op`.
    pub fn op(&self, op: DockerOp) -> OpCost {
        match op {
            DockerOp::Run => self.run,
            DockerOp::Remove => self.remove,
            DockerOp::Pause => self.pause,
            DockerOp::Unpause => self.unpause,
        }
    }
}

/// The Docker operations an invoker issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerOp {
    Run,
    Remove,
    Pause,
    Unpause,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_preset_matches_the_talks_figures() {
        let c = Costs::talk();
        let cycle_serial = c.run.serial_ms + c.remove.serial_ms;
        assert!(
            (1000.0 / cycle_serial - 10.0).abs() < 0.5,
            "~10 run→rm per second"
        );
        let lo = cycle_serial + c.run.parallel_ms.0 + c.remove.parallel_ms.0;
        let hi = cycle_serial + c.run.parallel_ms.1 + c.remove.parallel_ms.1;
        assert_eq!((lo, hi), (500.0, 1300.0));
        let pair = c.pause.serial_ms + c.unpause.serial_ms;
        assert!(
            (1000.0 / pair - 37.0).abs() < 0.5,
            "~37 pause→unpause per second"
        );
    }
}
