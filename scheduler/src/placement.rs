//! Choosing an invoker for each container creation of a batch. Pure code: the caller passes the
//! invokers read from etcd and a random source.
//!
//! Follows the stock `ContainerManager.schedule` (managed/blackbox partition, resource tags,
//! uniform random choice) with one deliberate fix: reservations accumulate across the batch, so
//! one batch never over-commits an invoker (stock rebuilds the list from the original each time).

use ow_compat::messages::{CreationError, InvokerStatus};

/// Invokers below this much free memory (MB) after a reservation take no more containers.
pub const MIN_MEMORY_MB: i64 = 128;

/// An invoker as the scheduler sees it in `whisk/invokers/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokerCandidate {
    /// Invoker number.
    pub id: i32,
    /// Health.
    pub status: InvokerStatus,
    /// Free memory in MB.
    pub free_memory_mb: i64,
    /// Resource tags.
    pub tags: Vec<String>,
    /// Namespaces this invoker is reserved for (empty: any).
    pub dedicated_namespaces: Vec<String>,
}

/// What one creation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreationRequest {
    /// Invocation namespace (dedicated invokers only serve theirs).
    pub invocation_namespace: String,
    /// Memory limit in MB.
    pub memory_mb: i64,
    /// The action runs a user image.
    pub blackbox: bool,
    /// Tags from the `invoker-resources` annotation.
    pub required_tags: Vec<String>,
    /// `invoker-resources-strict-policy` (default true).
    pub strict_tags: bool,
}

/// Shares of eligible untagged invokers for managed and blackbox actions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fractions {
    /// `whisk.fraction.managed-fraction` (0.9).
    pub managed: f64,
    /// `whisk.fraction.blackbox-fraction` (0.1).
    pub blackbox: f64,
}

impl Default for Fractions {
    fn default() -> Self {
        Self {
            managed: 0.9,
            blackbox: 0.1,
        }
    }
}

/// Source of uniform choices, injected so tests are deterministic.
pub trait Chooser {
    /// A uniform index below `n` (`n > 0`).
    fn index(&mut self, n: usize) -> usize;
}

/// A small xorshift generator: placement needs uniform choices, not cryptographic ones.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (zero is replaced, xorshift has no zero state).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
}

impl Chooser for XorShift {
    fn index(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n.max(1) as u64) as usize
    }
}

/// Invokers usable for `req`: healthy, enough memory, dedicated-namespace rule honoured.
pub fn eligible(invokers: &[InvokerCandidate], req: &CreationRequest) -> Vec<InvokerCandidate> {
    invokers
        .iter()
        .filter(|i| i.status == InvokerStatus::Up)
        .filter(|i| i.free_memory_mb >= req.memory_mb)
        .filter(|i| {
            i.dedicated_namespaces.is_empty()
                || i.dedicated_namespaces.contains(&req.invocation_namespace)
        })
        .cloned()
        .collect()
}

/// Places every request of a batch; each entry is the chosen invoker id or the stock error.
pub fn schedule(
    invokers: &[InvokerCandidate],
    requests: &[CreationRequest],
    fractions: Fractions,
    chooser: &mut dyn Chooser,
) -> Vec<Result<i32, CreationError>> {
    let mut working: Vec<InvokerCandidate> = invokers
        .iter()
        .filter(|i| i.status == InvokerStatus::Up)
        .cloned()
        .collect();
    let untagged: Vec<i32> = working
        .iter()
        .filter(|i| i.tags.is_empty())
        .map(|i| i.id)
        .collect();
    let n = untagged.len() as f64;
    let managed_count = ((n * fractions.managed).ceil() as usize).max(1);
    let blackbox_count = ((n * fractions.blackbox).floor() as usize).max(1);
    let managed: Vec<i32> = untagged.iter().take(managed_count).copied().collect();
    let blackbox: Vec<i32> = untagged
        .iter()
        .rev()
        .take(blackbox_count)
        .copied()
        .collect();
    requests
        .iter()
        .map(|req| {
            let pool = if req.blackbox { &blackbox } else { &managed };
            let chosen = place_one(&working, req, pool, chooser)?;
            reserve(&mut working, chosen, req.memory_mb);
            Ok(chosen)
        })
        .collect()
}

fn place_one(
    working: &[InvokerCandidate],
    req: &CreationRequest,
    partition: &[i32],
    chooser: &mut dyn Chooser,
) -> Result<i32, CreationError> {
    let usable: Vec<&InvokerCandidate> = working
        .iter()
        .filter(|i| {
            i.dedicated_namespaces.is_empty()
                || i.dedicated_namespaces.contains(&req.invocation_namespace)
        })
        .collect();
    let tagged: Vec<&InvokerCandidate> = usable
        .iter()
        .copied()
        .filter(|i| !i.tags.is_empty())
        .collect();
    if req.required_tags.is_empty() {
        let wanted: Vec<&InvokerCandidate> = usable
            .iter()
            .copied()
            .filter(|i| partition.contains(&i.id) && i.free_memory_mb >= req.memory_mb)
            .collect();
        return if !wanted.is_empty() {
            pick(&wanted, req, chooser)
        } else {
            pick(&tagged, req, chooser)
        };
    }
    let matching: Vec<&InvokerCandidate> = usable
        .iter()
        .copied()
        .filter(|i| req.required_tags.iter().all(|t| i.tags.contains(t)))
        .collect();
    if !matching.is_empty() {
        return pick(&matching, req, chooser);
    }
    if req.strict_tags {
        return Err(CreationError::NoAvailableResourceInvokersError);
    }
    let untagged: Vec<&InvokerCandidate> = usable
        .iter()
        .copied()
        .filter(|i| i.tags.is_empty())
        .collect();
    if !untagged.is_empty() {
        pick(&untagged, req, chooser)
    } else {
        pick(&tagged, req, chooser)
    }
}

/// Uniform random among candidates with enough memory.
fn pick(
    cands: &[&InvokerCandidate],
    req: &CreationRequest,
    chooser: &mut dyn Chooser,
) -> Result<i32, CreationError> {
    if cands.is_empty() {
        return Err(CreationError::NoAvailableInvokersError);
    }
    let fitting: Vec<i32> = cands
        .iter()
        .filter(|i| i.free_memory_mb >= req.memory_mb)
        .map(|i| i.id)
        .collect();
    if fitting.is_empty() {
        return Err(CreationError::NoAvailableResourceInvokersError);
    }
    Ok(fitting[chooser.index(fitting.len()) % fitting.len()])
}

/// Takes `mem` from the chosen invoker; one left with less than `MIN_MEMORY_MB` leaves the batch.
fn reserve(working: &mut Vec<InvokerCandidate>, id: i32, mem: i64) {
    if let Some(pos) = working.iter().position(|i| i.id == id) {
        working[pos].free_memory_mb -= mem;
        if working[pos].free_memory_mb < MIN_MEMORY_MB {
            working.remove(pos);
        }
    }
}

#[cfg(test)]
mod tests;
