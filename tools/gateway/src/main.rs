//! `gateway`: the local WebSocket API until stopped (see the library docs).
//!
//! ```sh
//! cargo run -p gateway -- --invoke-url http://127.0.0.1:9000
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use gateway::Settings;

#[derive(Parser)]
#[command(
    name = "gateway",
    about = "Local API Gateway WebSocket API: connections, routes invoked through cargo lambda watch, @connections"
)]
struct Cli {
    /// Where `cargo lambda watch` listens, e.g. http://127.0.0.1:9000.
    #[arg(long, env = "GATEWAY_INVOKE_URL")]
    invoke_url: String,
    /// Where clients connect and the management API answers (port 0: any free one).
    #[arg(long, env = "GATEWAY_ADDRESS", default_value = "127.0.0.1:0")]
    address: SocketAddr,
    /// The function every route integrates with.
    #[arg(long, default_value = "realtime")]
    function: String,
    /// Route keys besides $connect, $disconnect and $default (the infra's routes).
    #[arg(long, value_delimiter = ',', default_value = "ping")]
    routes: Vec<String>,
    #[arg(long, default_value = "local")]
    stage: String,
    /// API Gateway's idle limit (10 minutes); tests shorten it.
    #[arg(long, env = "GATEWAY_IDLE_TIMEOUT_SECS", default_value_t = 600)]
    idle_timeout_secs: u64,
    /// API Gateway's connection limit (2 hours); tests shorten it.
    #[arg(long, env = "GATEWAY_MAX_LIFETIME_SECS", default_value_t = 7200)]
    max_lifetime_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings {
        invoke_url: cli.invoke_url,
        function: cli.function,
        routes: cli.routes,
        stage: cli.stage,
        idle_timeout: Duration::from_secs(cli.idle_timeout_secs),
        max_lifetime: Duration::from_secs(cli.max_lifetime_secs),
    };
    let function = settings.function.clone();
    let running = gateway::serve(settings, cli.address).await?;
    eprintln!(
        "gateway: clients {} -> {function}; management API (callback URL) {}",
        running.websocket_url(),
        running.callback_url()
    );
    std::future::pending::<()>().await;
    Ok(())
}
