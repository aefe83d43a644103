//! The moderation and admin JSON request bodies of report-server, parsed exactly as the server
//! parses them (`extract::parse_json_body`: one JSON object, the storable-string check, then the
//! typed body). Never panics, and a body the server accepts is a JSON object whose strings and keys
//! hold no NUL. The first byte selects the body type.
#![no_main]
use libfuzzer_sys::fuzz_target;
use report_server::extract::parse_json_body;
use report_server::keys::Policy;
use report_server::routes::admin::audit_verify::VerifyRequest;
use report_server::routes::admin::keys::{RetireKey, RotateKey};
use report_server::routes::admin::networks::{CreateNetwork, UpdateNetwork};
use report_server::routes::admin::tokens::CreateToken;
use report_server::routes::admin::webhooks::{CreateWebhook, RotateSecret, UpdateWebhook};
use report_server::routes::cases::{AssignRequest, ReasonRequest, ResolveRequest};
use report_server::routes::notes::NoteRequest;
use report_server::routes::stamp::{BatchRequest, StampRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn parse<T: DeserializeOwned>(json: &[u8]) {
    if parse_json_body::<T>(json).is_err() {
        return;
    }
    let value: Value = serde_json::from_slice(json).expect("an accepted body is JSON");
    assert!(
        value.is_object(),
        "a body that is not a JSON object was accepted"
    );
    assert!(
        !has_nul(&value),
        "a body with a NUL in a string was accepted"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    match selector % 16 {
        0 => parse::<AssignRequest>(json),
        1 => parse::<ResolveRequest>(json),
        2 => parse::<ReasonRequest>(json),
        3 => parse::<NoteRequest>(json),
        4 => parse::<CreateNetwork>(json),
        5 => parse::<UpdateNetwork>(json),
        6 => parse::<Policy>(json),
        7 => parse::<RotateKey>(json),
        8 => parse::<RetireKey>(json),
        9 => parse::<CreateToken>(json),
        10 => parse::<CreateWebhook>(json),
        11 => parse::<UpdateWebhook>(json),
        12 => parse::<RotateSecret>(json),
        13 => parse::<VerifyRequest>(json),
        14 => parse::<StampRequest>(json),
        _ => parse::<BatchRequest>(json),
    }
});
