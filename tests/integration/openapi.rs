//! `openapi.yaml` describes exactly the route table, and every error it documents is problem+json.
//! (`make test` also fuzzes the running API against it with schemathesis.)

use std::collections::BTreeSet;

use gigmarket_shared::routes::ROUTES;
use serde_json::Value;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml");
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("openapi.yaml is YAML");
    serde_json::to_value(yaml).expect("as JSON")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("local $ref");
            resolve(spec, spec.pointer(pointer).expect("$ref target exists"))
        }
        None => value,
    }
}

fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                found.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    found
}

#[test]
fn spec_is_openapi_3_1() {
    assert_eq!(spec()["openapi"], "3.1.0");
}

#[test]
fn spec_routes_are_the_route_table() {
    let spec = spec();
    let documented: BTreeSet<(String, String)> = operations(&spec)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(
        documented, routed,
        "openapi.yaml must document exactly shared/src/routes.rs"
    );
}

#[test]
fn every_error_is_problem_json_and_every_operation_states_its_auth() {
    let spec = spec();
    for (method, path, operation) in operations(&spec) {
        assert!(
            operation.get("security").is_some(),
            "{method} {path}: say `security: []` or which scheme"
        );
        let needs_token = operation["security"]
            .as_array()
            .is_some_and(|schemes| !schemes.is_empty());
        let responses = operation["responses"].as_object().expect("responses");
        if needs_token {
            assert!(
                responses.contains_key("401"),
                "{method} {path}: a bearer route documents 401"
            );
        }
        for (status, response) in responses {
            let response = resolve(&spec, response);
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().expect("error content");
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    vec!["application/problem+json"],
                    "{method} {path} {status}"
                );
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem"
                );
            }
            assert!(
                response["headers"].get("x-request-id").is_some(),
                "{method} {path} {status}: every response carries x-request-id"
            );
        }
    }
}

/// The category enums are `GET /categories` (`shared/src/domain/category.rs`), so schemathesis
/// generates gigs the API can accept and clients can validate against the spec.
#[test]
fn category_enums_are_the_category_tree() {
    use gigmarket_shared::domain::category::CATEGORIES;
    let spec = spec();
    let listed = |schema: &str| -> Vec<String> {
        spec["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has an enum"))
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect()
    };
    let categories: Vec<String> = CATEGORIES.iter().map(|c| c.id.to_owned()).collect();
    let subcategories: Vec<String> = CATEGORIES
        .iter()
        .flat_map(|c| c.subcategories.iter().map(|s| s.id.to_owned()))
        .collect();
    assert_eq!(listed("CategoryId"), categories);
    assert_eq!(listed("SubcategoryId"), subcategories);
}

/// `Metrics` names every figure `GET /admin/metrics` answers (`domain::metrics::Metrics` fills
/// each known role, status and area, zero when empty), so a generated client can read each one.
#[test]
fn metrics_figures_are_the_domains_statuses() {
    use gigmarket_shared::domain::metrics::{
        GIG_STATUSES, ROLES, USER_STATUSES, role_name, user_status_name,
    };
    use gigmarket_shared::domain::order::OrderStatus;
    let spec = spec();
    let metrics = &spec["components"]["schemas"]["Metrics"];
    let figures = |schema: &Value| -> (Vec<String>, Vec<String>) {
        let schema = resolve(&spec, schema);
        assert_eq!(schema["additionalProperties"], false, "{schema}");
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect();
        let mut defined: Vec<String> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        required.sort();
        defined.sort();
        (required, defined)
    };
    let sorted = |names: Vec<&str>| -> Vec<String> {
        let mut names: Vec<String> = names.into_iter().map(str::to_owned).collect();
        names.sort();
        names
    };
    let expected = [
        ("users", sorted(ROLES.map(role_name).to_vec())),
        ("gigs", sorted(GIG_STATUSES.map(|s| s.as_str()).to_vec())),
        (
            "orders",
            sorted(OrderStatus::ALL.map(|s| s.as_str()).to_vec()),
        ),
    ];
    for (area, names) in expected {
        let (required, defined) = figures(&metrics["properties"][area]);
        assert_eq!(required, names, "Metrics.{area}: required");
        assert_eq!(defined, names, "Metrics.{area}: properties");
    }
    for role in ROLES {
        let (required, defined) =
            figures(&metrics["properties"]["users"]["properties"][role_name(role)]);
        let statuses = sorted(USER_STATUSES.map(user_status_name).to_vec());
        assert_eq!(required, statuses, "Metrics.users.{}", role_name(role));
        assert_eq!(defined, statuses, "Metrics.users.{}", role_name(role));
    }
}
