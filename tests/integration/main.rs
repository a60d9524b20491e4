//! Every integration test in one binary (one link instead of twelve): in-process handlers against
//! the real local stack (DynamoDB Local, moto, localstripe), plus the checks of `infra/`,
//! `openapi.yaml`, the route table and the sample events. `tests/e2e/` is its own binary because
//! it needs the API served by `cargo lambda watch` (`GIGMARKET_API_URL`, which `make test` sets);
//! the benchmarks are binaries of `tools/bench`.

mod accounts;
mod admin;
mod admin_gigs;
mod admin_lists;
mod admin_metrics;
mod admin_payments;
mod admin_refunds;
mod auth;
mod build_graph;
mod disputes;
mod events;
mod files;
mod gigs;
mod gigs_search;
mod http_contract;
mod infra;
mod ledger;
mod messages;
mod openapi;
mod orders;
mod payments;
mod payouts;
mod payouts_auto;
mod pipeline;
mod quotas;
mod rate_limit;
mod realtime;
mod reconcile;
mod refunds;
mod reviews;
mod routes;
mod scheduler;
mod search_hints;
mod search_index;
mod sessions;
mod stripe_client;
mod stripe_connect;
mod users;

// Reliability suite.
mod hostile;
mod outage;
mod ses_faults;
mod triggers;
