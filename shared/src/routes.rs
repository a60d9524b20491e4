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
    route("POST", "/auth/password/change", "auth"),
    // Email verification and password reset.
    route("POST", "/auth/verify", "auth"),
    route("POST", "/auth/verify/resend", "auth"),
    route("POST", "/auth/password/forgot", "auth"),
    route("POST", "/auth/password/reset", "auth"),
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
    // Files (app::files): the order's uploads and downloads.
    route("POST", "/orders/{id}/files", "orders"),
    route("GET", "/orders/{id}/files", "orders"),
    route("GET", "/orders/{id}/files/{file_id}", "orders"),
    route("DELETE", "/orders/{id}/files/{file_id}", "orders"),
    route("GET", "/gigs", "search"),
    route("POST", "/gigs", "gigs"),
    route("GET", "/gigs/{id}", "gigs"),
    route("PATCH", "/gigs/{id}", "gigs"),
    route("DELETE", "/gigs/{id}", "gigs"),
    route("POST", "/gigs/{id}/pause", "gigs"),
    route("POST", "/gigs/{id}/resume", "gigs"),
    route("GET", "/me/gigs", "gigs"),
    route("GET", "/users/{id}/gigs", "gigs"),
    route("GET", "/categories", "gigs"),
    route("POST", "/reviews", "reviews"),
    route("POST", "/reviews/{id}/reply", "reviews"),
    route("GET", "/gigs/{id}/reviews", "reviews"),
    route("GET", "/users/{id}/reviews", "reviews"),
    // Messaging.
    route("POST", "/conversations", "messages"),
    route("GET", "/conversations", "messages"),
    route("GET", "/conversations/{id}/messages", "messages"),
    route("POST", "/conversations/{id}/messages", "messages"),
    route("POST", "/conversations/{id}/read", "messages"),
    // Files (app::files): the conversation's attachments.
    route("POST", "/conversations/{id}/files", "messages"),
    route("GET", "/conversations/{id}/files", "messages"),
    route("GET", "/conversations/{id}/files/{file_id}", "messages"),
    route("DELETE", "/conversations/{id}/files/{file_id}", "messages"),
    // Admin: users and the audit log (app::admin::users, app::admin::audit).
    route("GET", "/admin/users/{id}", "admin"),
    route("POST", "/admin/users/{id}/block", "admin"),
    route("POST", "/admin/users/{id}/unblock", "admin"),
    route("GET", "/admin/audit", "admin"),
    // Admin: metrics and hiding reviews (app::admin::metrics, app::admin::reviews).
    route("GET", "/admin/metrics", "admin"),
    route("POST", "/admin/reviews/{id}/hide", "admin"),
    route("POST", "/admin/reviews/{id}/unhide", "admin"),
    // Admin: the gig review queue (app::admin::gigs).
    route("GET", "/admin/gigs", "admin"),
    route("POST", "/admin/gigs/{id}/approve", "admin"),
    route("POST", "/admin/gigs/{id}/reject", "admin"),
    route("POST", "/admin/gigs/{id}/remove", "admin"),
    // Admin: the lists, cancelling and refunding orders (app::admin::users, orders, refunds,
    // reviews).
    route("GET", "/admin/users", "admin"),
    route("GET", "/admin/orders", "admin"),
    route("POST", "/admin/orders/{id}/cancel", "admin"),
    route("POST", "/admin/orders/{id}/refund", "admin"),
    route("GET", "/admin/reviews", "admin"),
    // Admin: the ledger's charges and refunds (app::admin::payments).
    route("GET", "/admin/payments", "admin"),
    route("GET", "/admin/disputes", "admin"),
    // Payments: Stripe delivers its events here; the signature is the authentication.
    route("POST", "/webhooks/stripe", "payments"),
    // Real time: tickets for the WebSocket API (its own routes are in the infra).
    route("POST", "/realtime/tickets", "realtime"),
    // Payouts: Connect onboarding, balances, withdrawals, the Connect webhook.
    route("GET", "/me/payouts", "payouts"),
    route("POST", "/me/payouts/account", "payouts"),
    route("PUT", "/me/payouts/settings", "payouts"),
    route("POST", "/me/payouts/withdrawals", "payouts"),
    route("POST", "/webhooks/stripe/connect", "payouts"),
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

/// The SAM `HttpApi` events of one function, as `infra/template.yaml` lists them under the
/// function's `Events` (indented by the caller), one event per route, named `<Method><Path>`.
pub fn sam_events_yaml(function: &str) -> String {
    let mut text = String::new();
    for route in ROUTES.iter().filter(|route| route.function == function) {
        let path = if route.path.contains('{') {
            format!("\"{}\"", route.path)
        } else {
            route.path.to_owned()
        };
        text.push_str(&format!(
            "{}:\n  Type: HttpApi\n  Properties: {{ApiId: !Ref HttpApi, Method: {}, Path: {path}}}\n",
            sam_event_name(route),
            route.method
        ));
    }
    text
}

/// `GET /users/{id}/gigs` -> `GetUsersIdGigs`.
pub fn sam_event_name(route: &Route) -> String {
    let pascal = |word: &str| {
        let mut chars = word.chars();
        chars
            .next()
            .map(|first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
            .unwrap_or_default()
    };
    let mut name = pascal(route.method);
    for word in route.path.split(|c: char| !c.is_ascii_alphanumeric()) {
        name.push_str(&pascal(word));
    }
    name
}

/// Marks a generated block in a file: `# BEGIN generated routes: <key>` ... `# END generated
/// routes: <key>` (any indentation; the block's lines get the BEGIN line's).
const BEGIN: &str = "# BEGIN generated routes: ";
const END: &str = "# END generated routes: ";

/// `text` with each marked block replaced by `render(key)`; an error for a BEGIN without its END.
pub fn regenerate_blocks(text: &str, render: impl Fn(&str) -> String) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n');
    while let Some(line) = lines.next() {
        out.push_str(line);
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix(BEGIN) else {
            continue;
        };
        let key = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let indent = &line[..line.len() - trimmed.len()];
        for generated in render(&key).lines() {
            out.push_str(indent);
            out.push_str(generated);
            out.push('\n');
        }
        let end = format!("{END}{key}");
        loop {
            let Some(line) = lines.next() else {
                return Err(format!("`{BEGIN}{key}` has no `{end}`"));
            };
            if line.trim() == end {
                out.push_str(line);
                break;
            }
        }
    }
    Ok(out)
}

/// The keys of the marked blocks in `text`.
pub fn block_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix(BEGIN))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_method_and_path_in_pascal_case() {
        let route = route("POST", "/orders/{id}/request-revision", "orders");
        assert_eq!(sam_event_name(&route), "PostOrdersIdRequestRevision");
        assert_eq!(
            sam_event_name(&super::route("GET", "/me", "users")),
            "GetMe"
        );
    }

    #[test]
    fn blocks_are_replaced_with_their_indentation() {
        let text = "a:\n  # BEGIN generated routes: x\n  stale\n  # END generated routes: x\nb\n";
        let out = regenerate_blocks(text, |key| format!("{key}1\n{key}2\n")).unwrap();
        assert_eq!(
            out,
            "a:\n  # BEGIN generated routes: x\n  x1\n  x2\n  # END generated routes: x\nb\n"
        );
        assert!(regenerate_blocks("# BEGIN generated routes: y\n", |_| String::new()).is_err());
    }
}
