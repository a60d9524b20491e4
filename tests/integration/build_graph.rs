//! One dependency build for every function. The deployment builds each function on its own
//! (SAM, the CDK app, `scripts/build-arm64.sh`), and cargo gives each build only the features its
//! own graph asks for: a third-party crate that two functions' builds compile with different
//! features is compiled twice, with everything that sits on it (the AWS SDK sits on hyper, bytes
//! and serde). `gigmarket-shared` turns the union on for every function (its Cargo.toml, "One
//! dependency build"); this resolves every function's graph as the deployment does (aarch64,
//! normal dependencies, `cargo tree`) and names any crate whose features differ.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use gigmarket_tests::{function_crates, repo_path};

/// The deployment's target (Lambda on Graviton).
const DEPLOYMENT_TARGET: &str = "aarch64-unknown-linux-gnu";

/// Crates whose features may differ between functions: only our crates and `lambda_http` build
/// on `aws_lambda_events` (the API Gateway event shapes `lambda_http` turns on), so a difference
/// there rebuilds those few crates, not the graph.
const MAY_DIFFER: &[&str] = &["aws_lambda_events"];

/// Every third-party crate (name and version) in `function`'s graph, with its features.
fn features_by_crate(function: &str) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(repo_path(""))
        .args(["tree", "--locked", "-p", function, "-e", "features,normal"])
        .args([
            "--target",
            DEPLOYMENT_TARGET,
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
        ])
        .output()
        .expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {function}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        // Feature nodes (`serde feature "derive"`) carry no format; package lines do.
        .filter_map(|line| line.trim_end_matches(" (*)").split_once('|'))
        // Our own crates are path dependencies: `name v0.1.0 (/path)`.
        .filter(|(package, _)| !package.contains(" (/"))
        .map(|(package, features)| (package.to_owned(), features.to_owned()))
        .collect()
}

#[test]
fn every_function_builds_on_one_dependency_graph() {
    let functions = function_crates();
    assert!(functions.len() >= 10, "functions/: {functions:?}");
    let mut features: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for function in &functions {
        let graph = features_by_crate(function);
        // A graph without the SDK's HTTP stack means the parsing broke, not that all agree.
        assert!(
            graph.keys().any(|package| package.starts_with("hyper ")),
            "cargo tree -p {function} gave no hyper: {graph:?}"
        );
        for (package, set) in graph {
            features
                .entry(package)
                .or_default()
                .entry(set)
                .or_default()
                .insert(function.clone());
        }
    }
    let differing: Vec<String> = features
        .iter()
        .filter(|(package, sets)| {
            sets.len() > 1
                && !MAY_DIFFER
                    .iter()
                    .any(|name| package.starts_with(&format!("{name} ")))
        })
        .map(|(package, sets)| format!("{package}: {sets:?}"))
        .collect();
    assert!(
        differing.is_empty(),
        "crates the functions' own builds compile with different features (turn the union on in \
         shared/Cargo.toml, \"One dependency build\"):\n{}",
        differing.join("\n")
    );
}
