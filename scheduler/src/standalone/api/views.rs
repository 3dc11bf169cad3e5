//! The JSON the REST API answers with for activations (pure): the stock controller's extended
//! form, where `response` carries `status` and `success` instead of `statusCode`.

use ow_compat::json::{Value, Wire};
use ow_compat::records::{ActivationResponse, StatusCode, WhiskActivation};

/// The stock status text of a status code.
pub fn status_text(code: StatusCode) -> &'static str {
    match code {
        StatusCode::Success => "success",
        StatusCode::ApplicationError => "application error",
        StatusCode::DeveloperError => "action developer error",
        StatusCode::WhiskError => "whisk internal error",
    }
}

/// `{"result","size"?,"status","success"}`.
pub fn response_view(response: &ActivationResponse) -> Value {
    let mut o = serde_json::Map::new();
    o.insert(
        "result".into(),
        response
            .result
            .clone()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
    );
    if let Some(size) = response.size {
        o.insert("size".into(), Value::from(size));
    }
    o.insert(
        "status".into(),
        Value::String(status_text(response.status_code).into()),
    );
    o.insert(
        "success".into(),
        Value::Bool(response.status_code == StatusCode::Success),
    );
    Value::Object(o)
}

/// The whole record, its response in the extended form.
pub fn activation_view(activation: &WhiskActivation) -> Value {
    let mut v = activation.write();
    if let Some(o) = v.as_object_mut() {
        o.insert("response".into(), response_view(&activation.response));
    }
    v
}

/// A list entry: no logs and no response, the status code at the top level.
pub fn activation_summary(activation: &WhiskActivation) -> Value {
    let mut v = activation.write();
    if let Some(o) = v.as_object_mut() {
        o.shift_remove("logs");
        o.shift_remove("response");
        o.insert(
            "statusCode".into(),
            Value::from(activation.response.status_code.code()),
        );
    }
    v
}

/// The HTTP status of a blocking invoke's answer, as stock: 200 success, 502 for an
/// application or developer error, 500 for a platform error.
pub fn invoke_status(code: StatusCode) -> u16 {
    match code {
        StatusCode::Success => 200,
        StatusCode::ApplicationError | StatusCode::DeveloperError => 502,
        StatusCode::WhiskError => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::json::Path;
    use serde_json::json;

    fn record(status: u8) -> WhiskActivation {
        let v = json!({"namespace": "guest", "name": "hello", "subject": "guest",
            "activationId": "0123456789abcdef0123456789abcdef", "start": 1, "end": 3, "duration": 2,
            "response": {"statusCode": status, "result": {"error": "boom"}, "size": 16},
            "logs": ["2023-11-14T22:13:20.18Z stdout: hi"], "version": "0.0.1", "publish": false, "annotations": []});
        WhiskActivation::read(&v, Path::Root).expect("record")
    }

    #[test]
    fn records_show_the_extended_response() {
        let v = activation_view(&record(1));
        assert_eq!(
            v["response"],
            json!({"result": {"error": "boom"}, "size": 16, "status": "application error", "success": false})
        );
        assert_eq!(v["logs"].as_array().map(Vec::len), Some(1));
        let s = activation_summary(&record(0));
        assert_eq!(s["statusCode"], 0);
        assert!(s.get("logs").is_none() && s.get("response").is_none());
    }

    #[test]
    fn errors_map_to_gateway_statuses() {
        assert_eq!(invoke_status(StatusCode::Success), 200);
        assert_eq!(invoke_status(StatusCode::ApplicationError), 502);
        assert_eq!(invoke_status(StatusCode::DeveloperError), 502);
        assert_eq!(invoke_status(StatusCode::WhiskError), 500);
    }
}
