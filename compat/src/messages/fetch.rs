//! The JSON inside `FetchResponse.activationMessage`: `{"message": X}` where X is an activation
//! or one of three answers that carry a `type`.

use crate::json::{DecodeError, Obj, Path, Sorted, Value, Wire};

use super::ActivationMessage;

/// What a `FetchActivation` call returns.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchResponsePayload {
    /// An activation to run.
    Activation(Box<ActivationMessage>),
    /// Nothing arrived during the long poll.
    NoActivation,
    /// The scheduler has no queue for this action (any more).
    NoMemoryQueue,
    /// The queue holds another version of the action.
    ActionMismatch,
}

impl FetchResponsePayload {
    fn error_fields(&self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Self::Activation(_) => None,
            Self::NoActivation => Some((
                "noActivationMessage",
                "no activation message exist",
                "NoActivationMessage",
            )),
            Self::NoMemoryQueue => {
                Some(("noMemoryQueue", "no memory queue exist", "NoMemoryQueue"))
            }
            Self::ActionMismatch => Some((
                "actionMisMatch",
                "action version does not match",
                "ActionMismatch",
            )),
        }
    }
}

impl Wire for FetchResponsePayload {
    fn read(v: &Value, at: Path<'_>) -> Result<Self, DecodeError> {
        let o = Obj::new(v, at)?;
        let message_at = at.key("message");
        let message = o
            .raw("message")
            .ok_or_else(|| message_at.error("required member is missing"))?;
        match message.get("type").and_then(Value::as_str) {
            Some("NoActivationMessage") => Ok(Self::NoActivation),
            Some("NoMemoryQueue") => Ok(Self::NoMemoryQueue),
            Some("ActionMismatch") => Ok(Self::ActionMismatch),
            _ => {
                ActivationMessage::read(message, message_at).map(|m| Self::Activation(Box::new(m)))
            }
        }
    }

    fn write(&self) -> Value {
        let message = match (self, self.error_fields()) {
            (Self::Activation(m), _) => m.write(),
            (_, Some((key, text, kind))) => Sorted::new()
                .field(key, Value::String(text.into()))
                .field("type", Value::String(kind.into()))
                .build(),
            (_, None) => Value::Null,
        };
        Sorted::new().field("message", message).build()
    }
}
