//! The API's route table: which function serves which method and path. The `cargo lambda watch`
//! router in Cargo.toml is generated from it (`gigctl routes`), and tests check that the router,
//! each function and the infra agree with it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
