//! Live runs: controller-like load, simulated invokers or the real agent.
