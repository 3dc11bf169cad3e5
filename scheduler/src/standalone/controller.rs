//! The controller's part of an invoke: an `ActivationMessage` produced to the scheduler's topic,
//! and the `completed<C>` acks routed back to the blocking callers waiting for them. Like the
//! stock controller it counts activations in flight per namespace and refuses more than the
//! namespace may run at once (429).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use ow_compat::Codec;
use ow_compat::bus::{BusError, MessageBus};
use ow_compat::json::{Map, Path, Value, Wire};
use ow_compat::messages::{AcknowledgementMessage, ActivationMessage, ActivationOrId};
use ow_compat::records::WhiskActionDocument;
use ow_compat::values::ActivationId;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The identity every standalone request runs as (OpenWhisk's well-known guest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub namespace: String,
    /// `uuid:secret`.
    pub api_key: String,
}

impl Guest {
    /// The key's uuid part, which is also the namespace uuid.
    pub fn uuid(&self) -> &str {
        self.api_key.split_once(':').map_or("", |(u, _)| u)
    }
}

/// Why an invoke was not sent.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("Too many concurrent requests in flight (count: {count}, allowed: {allowed}).")]
    Throttled { count: usize, allowed: usize },
    #[error("activation message for {action} cannot be built: {reason}")]
    Message { action: String, reason: String },
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// A sent activation; `done` answers with the result ack when the caller waits.
#[derive(Debug)]
pub struct Invocation {
    pub activation_id: ActivationId,
    pub done: Option<oneshot::Receiver<ActivationOrId>>,
}

#[derive(Debug, Default)]
struct Pending {
    waiters: HashMap<String, oneshot::Sender<ActivationOrId>>,
    /// Activations without their completion ack yet, by namespace.
    in_flight: HashMap<String, HashSet<String>>,
}

/// Sends activations and routes their acks.
#[derive(Debug, Clone)]
pub struct Controller<B> {
    bus: B,
    scheduler_topic: String,
    /// `rootControllerIndex.asString`: acks come back on `completed<this>`.
    instance: String,
    guest: Guest,
    concurrency_limit: usize,
    pending: Arc<Mutex<Pending>>,
}

impl<B: MessageBus> Controller<B> {
    /// A controller producing to `scheduler_topic` and reading acks from `completed_topic`
    /// until `shutdown`.
    pub fn start(
        bus: B,
        scheduler_topic: String,
        completed_topic: &str,
        guest: Guest,
        concurrency_limit: usize,
        shutdown: CancellationToken,
    ) -> Result<Self, BusError> {
        let instance = completed_topic
            .rsplit("completed")
            .next()
            .unwrap_or("0")
            .to_owned();
        let controller = Self {
            bus: bus.clone(),
            scheduler_topic,
            instance,
            guest,
            concurrency_limit,
            pending: Arc::default(),
        };
        let mut acks = bus.subscribe(completed_topic, shutdown)?;
        let routing = controller.clone();
        tokio::spawn(async move {
            while let Some(record) = acks.recv().await {
                match AcknowledgementMessage::decode(&record.payload) {
                    Ok(ack) => routing.route(ack),
                    Err(e) => {
                        tracing::warn!(offset = record.offset, error = %e, "unreadable ack skipped")
                    }
                }
            }
        });
        Ok(controller)
    }

    fn pending<T>(&self, f: impl FnOnce(&mut Pending) -> T) -> T {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut p)
    }

    /// Activations of `namespace` sent and not yet completed.
    pub fn in_flight(&self, namespace: &str) -> usize {
        self.pending(|p| p.in_flight.get(namespace).map_or(0, HashSet::len))
    }

    fn route(&self, ack: AcknowledgementMessage) {
        let id = ack.activation_id().as_str().to_owned();
        let (response, completes) = match ack {
            AcknowledgementMessage::Result { response, .. } => (Some(response), false),
            AcknowledgementMessage::Combined { response, .. } => (Some(response), true),
            AcknowledgementMessage::Completion { .. } => (None, true),
        };
        self.pending(|p| {
            if let Some(response) = response
                && let Some(waiter) = p.waiters.remove(&id)
            {
                // The caller may have given up (timeout); the record is in the store anyway.
                let _ = waiter.send(response);
            }
            if completes {
                p.in_flight.retain(|_, ids| {
                    ids.remove(&id);
                    !ids.is_empty()
                });
            }
        });
    }

    /// Sends an activation of `action` with `payload`; a blocking one gets a receiver for its
    /// result ack.
    pub async fn invoke(
        &self,
        action: &WhiskActionDocument,
        payload: &Map<String, Value>,
        blocking: bool,
    ) -> Result<Invocation, InvokeError> {
        let namespace = self.guest.namespace.clone();
        let msg = self.message(action, payload, blocking)?;
        let id = msg.activation_id.as_str().to_owned();
        let done = self.pending(|p| {
            let count = p.in_flight.get(&namespace).map_or(0, HashSet::len);
            if count >= self.concurrency_limit {
                return Err(InvokeError::Throttled {
                    count,
                    allowed: self.concurrency_limit,
                });
            }
            p.in_flight
                .entry(namespace.clone())
                .or_default()
                .insert(id.clone());
            Ok(blocking.then(|| {
                let (tx, rx) = oneshot::channel();
                p.waiters.insert(id.clone(), tx);
                rx
            }))
        })?;
        if let Err(e) = self.bus.send(&self.scheduler_topic, msg.encode()).await {
            self.route(AcknowledgementMessage::Completion {
                transid: msg.transid.clone(),
                activation_id: msg.activation_id.clone(),
                is_system_error: Some(true),
                instance: ow_compat::values::InstanceId::Controller(
                    msg.root_controller_index.clone(),
                ),
            });
            return Err(e.into());
        }
        Ok(Invocation {
            activation_id: msg.activation_id,
            done,
        })
    }

    fn message(
        &self,
        action: &WhiskActionDocument,
        payload: &Map<String, Value>,
        blocking: bool,
    ) -> Result<ActivationMessage, InvokeError> {
        let json = activation_json(action, payload, blocking, &self.guest, &self.instance);
        ActivationMessage::read(&json, Path::Root).map_err(|e| InvokeError::Message {
            action: format!("{}/{}", action.namespace, action.name),
            reason: e.to_string(),
        })
    }
}

/// The stock controller's activation message: the action's parameters merged under the
/// payload, init parameters named in `initArgs`, a fresh id and transaction.
pub fn activation_json(
    action: &WhiskActionDocument,
    payload: &Map<String, Value>,
    blocking: bool,
    guest: &Guest,
    controller: &str,
) -> Value {
    let mut content = Map::new();
    let mut init_args = Vec::new();
    for p in action.parameters.entries() {
        content.insert(p.key.clone(), p.value.clone());
        if p.init {
            init_args.push(Value::String(p.key.clone()));
        }
    }
    for (k, v) in payload {
        content.insert(k.clone(), v.clone());
    }
    let id = ow_compat::ids::random_hex32();
    serde_json::json!({
        "action": {
            "name": action.name.as_str(),
            "path": action.namespace.to_string(),
            "version": action.version.write(),
        },
        "activationId": id,
        "blocking": blocking,
        "content": content,
        "initArgs": init_args,
        "lockedArgs": {},
        "revision": action.rev.clone().unwrap_or_default(),
        "rootControllerIndex": {"asString": controller, "instanceType": "controller"},
        "transid": [ow_compat::ids::random_hex32(), ow_compat::ids::epoch_millis()],
        "user": {
            "authkey": {"api_key": guest.api_key},
            "limits": {},
            "namespace": {"name": guest.namespace, "uuid": guest.uuid()},
            "rights": ["READ", "PUT", "DELETE", "ACTIVATE"],
            "subject": guest.namespace,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::bus::LocalBus;
    use serde_json::json;

    fn guest() -> Guest {
        Guest {
            namespace: "guest".into(),
            api_key: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:secret".into(),
        }
    }

    fn action() -> WhiskActionDocument {
        let doc = json!({"_id": "guest/hello", "_rev": "1-abc", "name": "hello", "namespace": "guest",
            "version": "0.0.2", "publish": false, "annotations": [], "limits": {"timeout": 60000, "memory": 256},
            "parameters": [{"key": "a", "value": 1}, {"key": "b", "value": 2, "init": true}],
            "exec": {"kind": "python:3.10", "code": "def main(a): return a"}, "updated": 1});
        WhiskActionDocument::read(&doc, Path::Root).expect("action")
    }

    #[test]
    fn the_payload_overrides_parameters_and_init_args_are_named() {
        let payload = json!({"a": 10, "c": 3});
        let v = activation_json(
            &action(),
            payload.as_object().expect("object"),
            true,
            &guest(),
            "0",
        );
        let msg = ActivationMessage::read(&v, Path::Root).expect("activation message");
        assert_eq!(msg.content, Some(json!({"a": 10, "b": 2, "c": 3})));
        assert_eq!(msg.init_args, ["b"]);
        assert_eq!(msg.revision.write(), json!("1-abc"));
        assert_eq!(
            msg.user.namespace.uuid,
            "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
        );
        assert!(msg.blocking);
    }

    #[tokio::test]
    async fn acks_answer_waiters_and_free_the_namespace() {
        let bus = LocalBus::default();
        let c = Controller::start(
            bus.clone(),
            "scheduler0".into(),
            "completed0",
            guest(),
            1,
            CancellationToken::new(),
        )
        .expect("controller");
        let mut sched = bus
            .subscribe("scheduler0", CancellationToken::new())
            .expect("scheduler topic");
        let inv = c
            .invoke(&action(), &Map::new(), true)
            .await
            .expect("invoke");
        assert!(matches!(
            c.invoke(&action(), &Map::new(), true).await,
            Err(InvokeError::Throttled {
                count: 1,
                allowed: 1
            })
        ));
        let sent = sched.recv().await.expect("activation sent");
        let msg = ActivationMessage::decode(&sent.payload).expect("decodes");
        let ack = AcknowledgementMessage::Combined {
            transid: msg.transid.clone(),
            response: ActivationOrId::Id(msg.activation_id.clone()),
            is_system_error: Some(false),
            instance: ow_compat::values::InstanceId::Controller(msg.root_controller_index.clone()),
        };
        bus.send("completed0", ack.encode()).await.expect("ack");
        let got = inv.done.expect("blocking").await.expect("answered");
        assert_eq!(got.activation_id(), &inv.activation_id);
        assert_eq!(c.in_flight("guest"), 0);
    }
}
