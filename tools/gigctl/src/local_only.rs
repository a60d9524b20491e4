//! The guard of `gigctl seed`: demo accounts have a published password (one is an admin), so they
//! are only ever created in a local DynamoDB. "Local" is decided from the endpoint the SDK will
//! use, never from the table name: a production table can be called anything.

use anyhow::bail;

/// Hosts that are this machine.
const LOCAL_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"];

/// The host of an endpoint URL (`http://127.0.0.1:8000/` -> `127.0.0.1`).
fn host(endpoint: &str) -> &str {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Whether the endpoint DynamoDB calls go to (`AWS_ENDPOINT_URL_DYNAMODB`, else
/// `AWS_ENDPOINT_URL`; `None` means the real AWS endpoint) is on this machine.
pub fn is_local_dynamodb(endpoint: Option<&str>) -> bool {
    endpoint
        .map(|endpoint| {
            let host = host(endpoint.trim()).to_ascii_lowercase();
            LOCAL_HOSTS.contains(&host.as_str()) || host.ends_with(".localhost")
        })
        .unwrap_or(false)
}

/// Refuses to go on unless DynamoDB is local (see the module doc).
pub fn require_local_dynamodb() -> anyhow::Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok()
        .filter(|endpoint| !endpoint.trim().is_empty());
    if !is_local_dynamodb(endpoint.as_deref()) {
        bail!(
            "refusing to seed: the demo users have a published password, and DynamoDB is not local \
             (endpoint: {}). Seed only against DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:<port>); \
             create real admins with `gigctl create-admin`.",
            endpoint.as_deref().unwrap_or("the AWS default")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_endpoints_on_this_machine_are_local() {
        for local in [
            "http://127.0.0.1:8000",
            "http://localhost:8000/",
            "http://[::1]:8000",
            "http://dynamodb.localhost:8000",
            "HTTP://LOCALHOST",
        ] {
            assert!(is_local_dynamodb(Some(local)), "{local}");
        }
        for remote in [
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://127.0.0.1.evil.example.com:8000",
            "http://localhost.evil.example.com",
            "http://user@10.0.0.5:8000",
            "",
        ] {
            assert!(!is_local_dynamodb(Some(remote)), "{remote}");
        }
        assert!(!is_local_dynamodb(None), "no endpoint is real AWS");
    }
}
