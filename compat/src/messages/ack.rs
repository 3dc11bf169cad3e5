//! The acknowledgement family on `completed<C>`, told apart by field presence as the controller
//! does: `instance` and `response` → combined; `instance` only → completion; else → result.

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire, read_kind};
use crate::records::WhiskActivation;
use crate::values::{ActivationId, InstanceId, TransactionId};

/// A full activation record, or just its id once the ack was shrunk.
#[derive(Debug, Clone, PartialEq)]
pub enum ActivationOrId {
    /// The record.
    Activation(Box<WhiskActivation>),
    /// The id only (a JSON string; a number is not accepted here).
    Id(ActivationId),
}

impl ActivationOrId {
    /// The activation id either way.
    pub fn activation_id(&self) -> &ActivationId {
        match self {
            Self::Activation(a) => &a.activation_id,
            Self::Id(id) => id,
        }
    }
}

impl Wire for ActivationOrId {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        match v {
            Value::String(_) => ActivationId::read(v, at).map(Self::Id),
            Value::Object(_) => WhiskActivation::read(v, at).map(|a| Self::Activation(Box::new(a))),
            other => Err(at.error(format!(
                "expected an activation or its id, found {}",
                read_kind(other)
            ))),
        }
    }
    fn write(&self) -> Value {
        match self {
            Self::Activation(a) => a.write(),
            Self::Id(id) => id.write(),
        }
    }

    fn write_to(&self, out: &mut String) {
        match self {
            Self::Activation(a) => a.write_to(out),
            Self::Id(id) => id.write_to(out),
        }
    }
}

/// What an invoker (or a scheduler, for failures) tells the controller.
#[derive(Debug, Clone, PartialEq)]
pub enum AcknowledgementMessage {
    /// Frees the controller's slot: `{"activationId","instance","isSystemError"?,"transid"}`.
    Completion {
        transid: TransactionId,
        activation_id: ActivationId,
        is_system_error: Option<bool>,
        instance: InstanceId,
    },
    /// Completes a blocking waiter: `{"response","transid"}`.
    Result {
        transid: TransactionId,
        response: ActivationOrId,
    },
    /// Both at once: `{"instance","isSystemError"?,"response","transid"}`.
    Combined {
        transid: TransactionId,
        response: ActivationOrId,
        is_system_error: Option<bool>,
        instance: InstanceId,
    },
}

impl AcknowledgementMessage {
    /// The transaction of the acknowledged activation.
    pub fn transid(&self) -> &TransactionId {
        match self {
            Self::Completion { transid, .. }
            | Self::Result { transid, .. }
            | Self::Combined { transid, .. } => transid,
        }
    }

    /// The acknowledged activation.
    pub fn activation_id(&self) -> &ActivationId {
        match self {
            Self::Completion { activation_id, .. } => activation_id,
            Self::Result { response, .. } | Self::Combined { response, .. } => {
                response.activation_id()
            }
        }
    }

    /// Replaces a full record by its id, as the invoker does for non-blocking acks and for
    /// records Kafka rejects as too large.
    pub fn shrink(self) -> Self {
        let to_id = |r: ActivationOrId| ActivationOrId::Id(r.activation_id().clone());
        match self {
            Self::Result { transid, response } => Self::Result {
                transid,
                response: to_id(response),
            },
            Self::Combined {
                transid,
                response,
                is_system_error,
                instance,
            } => Self::Combined {
                transid,
                response: to_id(response),
                is_system_error,
                instance,
            },
            c @ Self::Completion { .. } => c,
        }
    }
}

impl Wire for AcknowledgementMessage {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let transid = o.req("transid")?;
        match (o.has("instance"), o.has("response")) {
            (true, true) => Ok(Self::Combined {
                transid,
                response: o.req("response")?,
                is_system_error: o.opt("isSystemError")?,
                instance: o.req("instance")?,
            }),
            (true, false) => Ok(Self::Completion {
                transid,
                activation_id: o.req("activationId")?,
                is_system_error: o.opt("isSystemError")?,
                instance: o.req("instance")?,
            }),
            (false, _) => Ok(Self::Result {
                transid,
                response: o.req("response")?,
            }),
        }
    }

    fn write(&self) -> Value {
        match self {
            Self::Completion {
                transid,
                activation_id,
                is_system_error,
                instance,
            } => Sorted::new()
                .field("activationId", activation_id.write())
                .field("instance", instance.write())
                .opt("isSystemError", is_system_error.map(Value::Bool))
                .field("transid", transid.write())
                .build(),
            Self::Result { transid, response } => Sorted::new()
                .field("response", response.write())
                .field("transid", transid.write())
                .build(),
            Self::Combined {
                transid,
                response,
                is_system_error,
                instance,
            } => Sorted::new()
                .field("instance", instance.write())
                .opt("isSystemError", is_system_error.map(Value::Bool))
                .field("response", response.write())
                .field("transid", transid.write())
                .build(),
        }
    }

    fn write_to(&self, out: &mut String) {
        let mut o = crate::json::ObjectWriter::new(out);
        let flag = |b: bool| if b { "true" } else { "false" };
        match self {
            Self::Completion {
                transid,
                activation_id,
                is_system_error,
                instance,
            } => {
                activation_id.write_to(o.key("activationId"));
                instance.write_to(o.key("instance"));
                if let Some(e) = is_system_error {
                    o.raw("isSystemError", flag(*e));
                }
                transid.write_to(o.key("transid"));
            }
            Self::Result { transid, response } => {
                response.write_to(o.key("response"));
                transid.write_to(o.key("transid"));
            }
            Self::Combined {
                transid,
                response,
                is_system_error,
                instance,
            } => {
                instance.write_to(o.key("instance"));
                if let Some(e) = is_system_error {
                    o.raw("isSystemError", flag(*e));
                }
                response.write_to(o.key("response"));
                transid.write_to(o.key("transid"));
            }
        }
        o.finish();
    }
}
