//! The API's route table: which function serves which method and path. Generated from it (by
//! `gigctl routes`) are the `cargo lambda watch` router in Cargo.toml and `infra/routes.json`
//! (which the CDK app reads); tests check that those, each function, the SAM template, the CDK
//! synth output and `openapi.yaml` agree with it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Route {
    pub method: &'static str,
    /// matchit / API Gateway syntax: `/users/{id}`.
    pub path: &'static str,
    pub function: &'static str,
}

const fn route(method: &'static str, path: &'static str, function: &'static str) -> Route {
    Route {
        method,
        path,
        function,
    }
}

pub const ROUTES: &[Route] = &[
    route("POST", "/auth/register", "auth"),
    route("POST", "/auth/login", "auth"),
    route("POST", "/auth/refresh", "auth"),
    route("POST", "/auth/logout", "auth"),
    route("GET", "/me", "users"),
    route("PATCH", "/me", "users"),
    route("GET", "/users/{id}", "users"),
    route("POST", "/orders", "orders"),
    route("GET", "/orders", "orders"),
    route("GET", "/orders/{id}", "orders"),
    route("POST", "/orders/{id}/accept", "orders"),
    route("POST", "/orders/{id}/reject", "orders"),
    route("POST", "/orders/{id}/deliver", "orders"),
    route("POST", "/orders/{id}/request-revision", "orders"),
    route("POST", "/orders/{id}/complete", "orders"),
    route("POST", "/orders/{id}/cancel", "orders"),
    route("GET", "/gigs", "gigs"),
    route("POST", "/gigs", "gigs"),
    route("GET", "/gigs/{id}", "gigs"),
    route("PATCH", "/gigs/{id}", "gigs"),
    route("DELETE", "/gigs/{id}", "gigs"),
    route("POST", "/gigs/{id}/pause", "gigs"),
    route("POST", "/gigs/{id}/resume", "gigs"),
    route("POST", "/gigs/{id}/approve", "gigs"),
    route("POST", "/gigs/{id}/reject", "gigs"),
    route("GET", "/me/gigs", "gigs"),
    route("GET", "/users/{id}/gigs", "gigs"),
    route("GET", "/categories", "gigs"),
];

/// The `[workspace.metadata.lambda.watch.router]` table body, one line per path, in table order.
pub fn watch_router_toml() -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for route in ROUTES {
        if seen.contains(&route.path) {
            continue;
        }
        seen.push(route.path);
        let entries: Vec<String> = ROUTES
            .iter()
            .filter(|other| other.path == route.path)
            .map(|other| {
                format!(
                    "{{ method = \"{}\", function = \"{}\" }}",
                    other.method, other.function
                )
            })
            .collect();
        lines.push(format!("\"{}\" = [{}]", route.path, entries.join(", ")));
    }
    lines.join("\n") + "\n"
}

/// `infra/routes.json`: the route table as a JSON array of `{method, path, function}`, in table
/// order, one route per line, for the tools that are not Rust (the CDK app).
pub fn routes_json() -> String {
    let lines: Vec<String> = ROUTES
        .iter()
        .map(|route| {
            format!(
                "  {}",
                serde_json::to_string(route).expect("routes serialize")
            )
        })
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}
