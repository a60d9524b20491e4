//! Every integration test in one binary (one link instead of twelve): in-process handlers against
//! the real local stack (DynamoDB Local, moto, localstripe), plus the checks of `infra/`,
//! `openapi.yaml`, the route table and the sample events. `tests/e2e.rs` is its own binary because
//! it needs the API served by `cargo lambda watch` (`GIGMARKET_API_URL`, which `make test` sets).

mod accounts;
mod admin;
mod admin_metrics;
mod admin_oversight;
mod auth;
mod build_graph;
mod events;
mod gigs;
mod gigs_search;
mod http_contract;
mod infra;
mod messages;
mod openapi;
mod orders;
mod pipeline;
mod reviews;
mod routes;
mod scheduler;
mod stripe_client;
mod users;

// Admin: gig moderation.
mod admin_moderation;

// Reliability suite.
mod hostile;
mod outage;
mod ses_faults;

// Benchmarks (ignored; make bench runs them).
mod cost;
mod pipeline_bench;
mod triggers;
