//! The controller's book of activations in flight: which acks came for which activation, the
//! samples of the completed ones, and whether every activation completed exactly once (pure).

use std::collections::HashMap;

use ow_compat::messages::{AcknowledgementMessage, ActivationOrId};
use ow_compat::records::WhiskActivation;
use tokio::sync::oneshot;

use super::stats::Sample;

#[derive(Debug)]
struct Pending {
    sent_ms: f64,
    results: u32,
    completions: u32,
    waiter: Option<oneshot::Sender<()>>,
}

/// How the acks of a run added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    pub sent: u64,
    /// Activations with exactly one result and one completion.
    pub exactly_once: u64,
    pub missing: u64,
    /// Activations with more than one result or completion.
    pub duplicated: u64,
    /// Acks for activations this controller never sent.
    pub unknown: u64,
}

/// Activations by id.
#[derive(Debug, Default)]
pub struct Tracker {
    pending: HashMap<String, Pending>,
    samples: Vec<Sample>,
    unknown: u64,
    cold_starts: u64,
}

impl Tracker {
    /// Books an activation sent at `sent_ms`; `waiter` fires on its result.
    pub fn sent(&mut self, id: String, sent_ms: f64, waiter: Option<oneshot::Sender<()>>) {
        let pending = Pending {
            sent_ms,
            results: 0,
            completions: 0,
            waiter,
        };
        self.pending.insert(id, pending);
    }

    /// Applies one ack received at `now_ms`: a result (or combined) completes the caller, a
    /// completion (or combined) frees the slot, as in the stock controller.
    pub fn ack(&mut self, ack: &AcknowledgementMessage, now_ms: f64) {
        let id = ack.activation_id().as_str().to_owned();
        let Some(p) = self.pending.get_mut(&id) else {
            self.unknown += 1;
            return;
        };
        let response = match ack {
            AcknowledgementMessage::Completion { .. } => {
                p.completions += 1;
                return;
            }
            AcknowledgementMessage::Result { response, .. } => response,
            AcknowledgementMessage::Combined { response, .. } => {
                p.completions += 1;
                response
            }
        };
        p.results += 1;
        if p.results > 1 {
            return;
        }
        let record = match response {
            ActivationOrId::Activation(a) => Some(a.as_ref()),
            ActivationOrId::Id(_) => None,
        };
        let sample = sample(p.sent_ms, now_ms, record);
        self.cold_starts += u64::from(sample.cold);
        self.samples.push(sample);
        if let Some(w) = p.waiter.take() {
            let _ = w.send(());
        }
    }

    /// Activations so far that paid a cold start.
    pub fn cold_starts(&self) -> u64 {
        self.cold_starts
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Whether each activation got exactly one result and one completion.
    pub fn delivery(&self) -> Delivery {
        let mut d = Delivery {
            sent: self.pending.len() as u64,
            unknown: self.unknown,
            ..Delivery::default()
        };
        for p in self.pending.values() {
            match (p.results, p.completions) {
                (1, 1) => d.exactly_once += 1,
                (r, c) if r > 1 || c > 1 => d.duplicated += 1,
                _ => d.missing += 1,
            }
        }
        d
    }
}

fn sample(sent_ms: f64, done_ms: f64, record: Option<&WhiskActivation>) -> Sample {
    let number = |key: &str| {
        record
            .and_then(|r| r.annotations.get(key))
            .and_then(serde_json::Value::as_f64)
    };
    Sample {
        sent_ms,
        done_ms,
        wait_ms: number("waitTime"),
        cold: number("initTime").is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::Codec;
    use ow_compat::values::{ActivationId, ByteSize, InstanceId, InvokerInstanceId, TransactionId};

    fn ack(json: &str) -> AcknowledgementMessage {
        AcknowledgementMessage::decode(json.as_bytes()).expect("ack")
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn completion() -> AcknowledgementMessage {
        let invoker = InvokerInstanceId::new(0, ByteSize::mb(1024));
        AcknowledgementMessage::Completion {
            transid: TransactionId::new("t", 1),
            activation_id: ActivationId::parse(ID).expect("id"),
            is_system_error: Some(false),
            instance: InstanceId::Invoker(invoker),
        }
    }

    fn result() -> AcknowledgementMessage {
        ack(&format!(r#"{{"response":"{ID}","transid":["t",1]}}"#))
    }

    #[test]
    fn a_result_then_a_completion_is_exactly_once_and_wakes_the_caller() {
        let mut t = Tracker::default();
        let (tx, mut rx) = oneshot::channel();
        t.sent(ID.into(), 10.0, Some(tx));
        t.ack(&result(), 25.0);
        assert!(rx.try_recv().is_ok());
        assert_eq!(t.delivery().missing, 1, "no completion yet");
        t.ack(&completion(), 26.0);
        assert_eq!(t.delivery().exactly_once, 1);
        assert_eq!(t.samples()[0].done_ms - t.samples()[0].sent_ms, 15.0);
    }

    #[test]
    fn duplicates_and_strangers_are_counted() {
        let mut t = Tracker::default();
        t.sent(ID.into(), 0.0, None);
        t.ack(&result(), 1.0);
        t.ack(&result(), 2.0);
        t.ack(&completion(), 3.0);
        let other = r#"{"response":"ffffffffffffffffffffffffffffffff","transid":["t",1]}"#;
        t.ack(&ack(other), 4.0);
        let d = t.delivery();
        assert_eq!((d.duplicated, d.unknown, d.exactly_once), (1, 1, 0));
        assert_eq!(t.samples().len(), 1);
    }
}
