//! The secrets an end-to-end run sends and receives (passwords, access and refresh tokens,
//! verification and reset tokens), appended one a line to the file `GIGMARKET_SECRETS_FILE`
//! names (scripts/test.sh sets it), so a step after the run can check that no function's log
//! contains any of them. Without the variable nothing is recorded.

use std::io::Write;

use serde_json::Value;

/// The JSON fields whose values are secrets, in requests and responses alike.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "current_password",
    "new_password",
    "access_token",
    "refresh_token",
    "token",
    // A WebSocket connection ticket (`POST /realtime/tickets`).
    "ticket",
];

/// Records one secret (one short write in append mode: lines from parallel tests never mix).
pub fn remember(secret: &str) {
    let Ok(path) = std::env::var("GIGMARKET_SECRETS_FILE") else {
        return;
    };
    if secret.trim().is_empty() || secret.contains('\n') {
        return;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|error| panic!("GIGMARKET_SECRETS_FILE {path}: {error}"));
    file.write_all(format!("{secret}\n").as_bytes())
        .expect("secret recorded");
}

/// Records every secret field's string value anywhere in `body`.
pub fn remember_in(body: &Value) {
    match body {
        Value::Object(fields) => {
            for (name, value) in fields {
                match value {
                    Value::String(secret) if SECRET_FIELDS.contains(&name.as_str()) => {
                        remember(secret)
                    }
                    other => remember_in(other),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(remember_in),
        _ => {}
    }
}
