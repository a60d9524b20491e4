//! `ses-faults`: a faulty SES in front of moto until stopped (see `bridge::ses_faults`).
//!
//! ```sh
//! source scripts/env.sh
//! cargo run -p bridge --bin ses-faults -- --throttle bounce@ --hang slow@
//! # prints the endpoint; point a function at it with AWS_ENDPOINT_URL_SES=<endpoint>
//! ```

use bridge::ses_faults::{Fault, FaultProxy};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "ses-faults",
    about = "Forwards SES calls to moto, failing the sends to chosen recipients"
)]
struct Cli {
    /// moto's endpoint.
    #[arg(long, env = "MOTO_ENDPOINT")]
    upstream: String,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Answer `Throttling` (400) to sends to recipients containing this text (repeatable).
    #[arg(long)]
    throttle: Vec<String>,
    /// Answer `ServiceUnavailable` (503) to sends to recipients containing this text.
    #[arg(long)]
    unavailable: Vec<String>,
    /// Send the mail to recipients containing this text, then never answer.
    #[arg(long)]
    hang: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let faults = cli
        .throttle
        .iter()
        .map(|pattern| Fault::throttle(pattern))
        .chain(
            cli.unavailable
                .iter()
                .map(|pattern| Fault::unavailable(pattern)),
        )
        .chain(
            cli.hang
                .iter()
                .map(|pattern| Fault::accept_then_hang(pattern)),
        )
        .collect();
    let proxy = FaultProxy::start_on(&cli.listen, &cli.upstream, faults).await?;
    println!("{}", proxy.endpoint);
    std::future::pending::<()>().await;
    Ok(())
}
