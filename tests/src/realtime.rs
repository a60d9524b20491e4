//! The WebSocket API around a [`TestApp`], in-process: the local gateway (`tools/gateway`) in
//! front of `realtime`'s WebSocket handler, served behind a Lambda invoke endpoint of its own
//! (what `cargo lambda watch` serves for the deployed binary), and the management client
//! `realtime` pushes with. Clients connect with a real WebSocket; the pushes go through the
//! gateway's `@connections` API as deployed ones go through API Gateway's.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use gigmarket_shared::web::AppState;
use serde_json::{Value, json};

use crate::TestApp;

/// The gateway and the client `realtime` posts to its connections with.
pub struct SocketApi {
    pub gateway: gateway::Running,
    pub connections: aws_sdk_apigatewaymanagement::Client,
}

/// What the invoke endpoint runs: `realtime`'s WebSocket handler, with what its `main` builds.
struct Realtime {
    state: AppState,
    connections: aws_sdk_apigatewaymanagement::Client,
}

impl TestApp {
    /// A local gateway whose routes invoke `realtime` on this app's table, with API Gateway's
    /// limits (10 minutes idle, 2 hours open).
    pub async fn socket_api(&self) -> SocketApi {
        // The invoke endpoint is bound first: the gateway needs its URL, and `realtime` needs the
        // gateway's callback URL.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the invoke endpoint");
        let invoke_url = format!("http://{}", listener.local_addr().unwrap());
        let settings = gateway::Settings {
            invoke_url,
            function: "realtime".to_owned(),
            routes: vec!["ping".to_owned()],
            stage: "local".to_owned(),
            idle_timeout: std::time::Duration::from_secs(10 * 60),
            max_lifetime: std::time::Duration::from_secs(2 * 3600),
        };
        let gateway = gateway::serve(settings, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("the gateway starts");
        let connections = gigmarket_shared::aws::connections(&self.sdk, &gateway.callback_url());
        let function = Arc::new(Realtime {
            state: self.state.clone(),
            connections: connections.clone(),
        });
        let endpoint = Router::new()
            .route("/2015-03-31/functions/realtime/invocations", post(invoke))
            .with_state(function);
        tokio::spawn(async move { axum::serve(listener, endpoint).await });
        SocketApi {
            gateway,
            connections,
        }
    }
}

/// One invocation of a WebSocket route, answered as Lambda's invoke API does: the handler's
/// response, or `{errorType, errorMessage}` for an event it can not read. The gateway sends only
/// WebSocket events, so this goes straight to the handler `realtime::on_invocation` picks for
/// them (its HTTP route is the app's router, its stream batches `realtime::push::handle`).
async fn invoke(State(function): State<Arc<Realtime>>, Json(payload): Json<Value>) -> Json<Value> {
    let request = match serde_json::from_value(payload) {
        Ok(request) => request,
        Err(error) => {
            return Json(json!({"errorType": "Error", "errorMessage": error.to_string()}));
        }
    };
    let response = ::realtime::socket::handle(
        &function.state,
        Some(&function.connections),
        request,
        time::OffsetDateTime::now_utc(),
    )
    .await;
    Json(serde_json::to_value(response).expect("a response serialises"))
}
