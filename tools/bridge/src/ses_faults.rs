//! A faulty SES in front of moto: every SES call is forwarded to moto unchanged, except the
//! `SendEmail` calls whose recipients match a [`Fault`]'s pattern, which the proxy answers itself.
//!
//! - [`Fault::Refuse`]: an SES error answer (e.g. `Throttling`, 400; `ServiceUnavailable`, 503)
//!   in the query protocol's XML, and nothing reaches moto: the mail is not sent.
//! - [`Fault::AcceptThenHang`]: the call is forwarded, so moto records the mail, and then no
//!   answer ever comes; the caller is left where a sender stands that crashed (or lost its
//!   connection) after SES accepted the mail. [`FaultProxy::accepted_and_held`] says when.
//!
//! The SDK speaks HTTP/1.1 to `AWS_ENDPOINT_URL_SES`; the proxy serves one request per
//! connection (`Connection: close`), which is all a test or a local run needs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What the proxy does to a `SendEmail` whose recipients (To, Cc or Bcc) contain `pattern`.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Matched case-insensitively against each recipient address.
    pub pattern: String,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer an SES error (HTTP status, error code) without sending.
    Refuse { status: u16, code: &'static str },
    /// Send (forward to moto), then never answer.
    AcceptThenHang,
}

impl Fault {
    /// SES's answer when a sender exceeds its sending rate (the SDK retries it).
    pub fn throttle(pattern: &str) -> Self {
        Self {
            pattern: pattern.to_owned(),
            kind: FaultKind::Refuse {
                status: 400,
                code: "Throttling",
            },
        }
    }

    /// SES unavailable (503; the SDK retries it).
    pub fn unavailable(pattern: &str) -> Self {
        Self {
            pattern: pattern.to_owned(),
            kind: FaultKind::Refuse {
                status: 503,
                code: "ServiceUnavailable",
            },
        }
    }

    pub fn accept_then_hang(pattern: &str) -> Self {
        Self {
            pattern: pattern.to_owned(),
            kind: FaultKind::AcceptThenHang,
        }
    }

    fn matches(&self, recipients: &[String]) -> bool {
        let pattern = self.pattern.to_lowercase();
        recipients
            .iter()
            .any(|recipient| recipient.to_lowercase().contains(&pattern))
    }
}

/// A running proxy on a free loopback port.
pub struct FaultProxy {
    /// Give this to the SES client (`AWS_ENDPOINT_URL_SES`, or the client's `endpoint_url`).
    pub endpoint: String,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicUsize,
    refused: AtomicUsize,
    held: AtomicUsize,
    held_signal: Notify,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream` (moto's endpoint) on 127.0.0.1, port chosen free.
    pub async fn start(upstream: &str, faults: Vec<Fault>) -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0", upstream, faults).await
    }

    pub async fn start_on(
        address: &str,
        upstream: &str,
        faults: Vec<Fault>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counters = Arc::new(Counters::default());
        let upstream = upstream.trim_end_matches('/').to_owned();
        let http = crate::http_client();
        let faults = Arc::new(faults);
        let shared = counters.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((connection, _)) = listener.accept().await else {
                    continue;
                };
                let (http, upstream, faults, counters) = (
                    http.clone(),
                    upstream.clone(),
                    faults.clone(),
                    shared.clone(),
                );
                tokio::spawn(async move {
                    if let Err(error) =
                        serve(connection, &http, &upstream, &faults, &counters).await
                    {
                        eprintln!("ses-faults: {error:#}");
                    }
                });
            }
        });
        Ok(Self {
            endpoint,
            counters,
            task,
        })
    }

    /// Calls passed to moto unchanged (every `SendEmail` that matched no fault, and other calls).
    pub fn forwarded(&self) -> usize {
        self.counters.forwarded.load(Ordering::SeqCst)
    }

    /// `SendEmail` calls answered with an error (each SDK attempt counts).
    pub fn refused(&self) -> usize {
        self.counters.refused.load(Ordering::SeqCst)
    }

    /// `SendEmail` calls moto accepted and the proxy never answered.
    pub fn held(&self) -> usize {
        self.counters.held.load(Ordering::SeqCst)
    }

    /// Waits until a `SendEmail` has been accepted by moto and held (returns at once if one was).
    pub async fn accepted_and_held(&self) {
        loop {
            let notified = self.counters.held_signal.notified();
            if self.held() > 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request read off the connection.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn method_and_path(&self) -> (&str, &str) {
        let mut parts = self.head.lines().next().unwrap_or_default().split(' ');
        (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"))
    }

    fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.head.lines().skip(1).filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim(), value.trim()))
        })
    }

    /// The `Action` and the recipients of a query-protocol SES call.
    fn ses_action(&self) -> (String, Vec<String>) {
        let mut action = String::new();
        let mut recipients = Vec::new();
        for (name, value) in form_urlencoded::parse(&self.body) {
            if name == "Action" {
                action = value.into_owned();
            } else if name.starts_with("Destination.") {
                recipients.push(value.into_owned());
            }
        }
        (action, recipients)
    }
}

async fn read_request(connection: &mut TcpStream) -> anyhow::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = connection.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut body = buffer[head_end + 4..].to_vec();
    let length: usize = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().parse())
        .transpose()
        .context("content-length")?
        .unwrap_or(0);
    while body.len() < length {
        let read = connection.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(Request { head, body }))
}

async fn serve(
    mut connection: TcpStream,
    http: &reqwest::Client,
    upstream: &str,
    faults: &[Fault],
    counters: &Counters,
) -> anyhow::Result<()> {
    let Some(request) = read_request(&mut connection).await? else {
        return Ok(());
    };
    let (action, recipients) = request.ses_action();
    let fault = (action == "SendEmail")
        .then(|| faults.iter().find(|fault| fault.matches(&recipients)))
        .flatten();
    if let Some(Fault {
        kind: FaultKind::Refuse { status, code },
        ..
    }) = fault
    {
        counters.refused.fetch_add(1, Ordering::SeqCst);
        let body = format!(
            "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error><Type>{}</Type><Code>{code}</Code><Message>Injected by ses-faults for {}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            if *status < 500 { "Sender" } else { "Receiver" },
            recipients.join(", "),
            counters.refused.load(Ordering::SeqCst),
        );
        return respond(&mut connection, *status, "text/xml", body.as_bytes()).await;
    }

    let (method, path) = request.method_and_path();
    let mut forward = http.request(
        method.parse().context("request method")?,
        format!("{upstream}{path}"),
    );
    for (name, value) in request.headers() {
        let skip = ["host", "content-length", "connection", "transfer-encoding"];
        if !skip.iter().any(|hop| name.eq_ignore_ascii_case(hop)) {
            forward = forward.header(name, value);
        }
    }
    let answer = forward
        .body(request.body.clone())
        .send()
        .await
        .context("forwarding to moto")?;
    let status = answer.status().as_u16();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("text/xml")
        .to_owned();
    let body = answer.bytes().await.context("moto's answer")?;

    if matches!(fault, Some(fault) if fault.kind == FaultKind::AcceptThenHang) {
        counters.held.fetch_add(1, Ordering::SeqCst);
        counters.held_signal.notify_waiters();
        // No answer: wait for the caller to give up and close the connection.
        let mut sink = [0u8; 1024];
        while connection.read(&mut sink).await.is_ok_and(|read| read > 0) {}
        return Ok(());
    }
    counters.forwarded.fetch_add(1, Ordering::SeqCst);
    respond(&mut connection, status, &content_type, &body).await
}

async fn respond(
    connection: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    connection.write_all(head.as_bytes()).await?;
    connection.write_all(body).await?;
    connection.shutdown().await?;
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_action_and_every_recipient() {
        let request = Request {
            head: "POST / HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded".to_owned(),
            body: b"Action=SendEmail&Version=2010-12-01&Source=a%40x.test&Destination.ToAddresses.member.1=Bob%40Y.test&Destination.CcAddresses.member.1=c%40z.test".to_vec(),
        };
        let (action, recipients) = request.ses_action();
        assert_eq!(action, "SendEmail");
        assert_eq!(recipients, ["Bob@Y.test", "c@z.test"]);
        let fault = Fault::throttle("bob@y");
        assert!(fault.matches(&recipients));
        assert!(
            !Fault::throttle("a@x").matches(&recipients),
            "not the sender"
        );
    }
}
