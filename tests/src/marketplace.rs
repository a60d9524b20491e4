//! Helpers for order tests: the parties of an order, active gigs made through the domain's own
//! validation and stored with `Store::create_gig` (no approval round trip), order placement, and
//! moving an order to a given state through the API.

use gigmarket_shared::domain::gig::{Gig, GigDraft, GigStatus, PackageDraft, Revisions, Tier};
use gigmarket_shared::domain::user::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{PASSWORD, RawRequest, Session, TestApp, TestResponse};

/// The parties of one order.
pub struct Cast {
    pub client: Session,
    pub freelancer: Session,
    pub admin: Session,
    pub stranger: Session,
}

impl TestApp {
    /// An admin, created the only way admins are: outside the API.
    pub async fn create_admin(&self) -> Session {
        let email = format!("admin-{}@example.com", Uuid::new_v4().simple());
        self.state
            .accounts()
            .create_user(
                email.clone(),
                PASSWORD.to_owned(),
                "Test admin".to_owned(),
                Role::Admin,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .expect("admin created");
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status, 200, "{response:?}");
        Session::from_body(&response.body, email)
    }

    pub async fn cast(&self) -> Cast {
        Cast {
            client: self.register_client().await,
            freelancer: self.register_freelancer().await,
            admin: self.create_admin().await,
            stranger: self.register_client().await,
        }
    }

    /// An active gig of `freelancer_id` with a basic (EUR 50, 2 days, `revisions`) and a premium
    /// (EUR 200, 5 days, unlimited revisions) package.
    pub async fn create_active_gig(&self, freelancer_id: Uuid, revisions: Revisions) -> Gig {
        let gig = Self::active_gig(freelancer_id, revisions);
        self.state.store.create_gig(&gig).await.expect("gig stored");
        gig
    }

    /// The gig [`TestApp::create_active_gig`] stores, for tests that store it elsewhere. Its
    /// content passes the same validation as `POST /gigs`.
    pub fn active_gig(freelancer_id: Uuid, revisions: Revisions) -> Gig {
        let now = OffsetDateTime::now_utc();
        let package = |tier, price_cents, delivery_days, revisions| PackageDraft {
            tier,
            name: format!("{tier:?} logo"),
            description: "A logo in two colour variants".to_owned(),
            price_cents,
            currency: "EUR".to_owned(),
            delivery_days,
            revisions,
            features: Vec::new(),
        };
        let content = GigDraft {
            title: "I will design your logo".to_owned(),
            description: "A clean, memorable logo designed from your brief.".to_owned(),
            category: "graphics-design".to_owned(),
            subcategory: Some("logo-design".to_owned()),
            tags: Vec::new(),
            packages: vec![
                package(Tier::Basic, 5_000, 2, revisions),
                package(Tier::Premium, 20_000, 5, Revisions::Unlimited),
            ],
        }
        .validate()
        .expect("a gig the API would accept");
        Gig::new(freelancer_id, content, GigStatus::Active, now)
    }

    pub async fn gig(&self, gig_id: Uuid) -> Gig {
        self.state
            .store
            .get_gig(gig_id)
            .await
            .unwrap()
            .expect("gig exists")
    }

    /// `POST /orders` with an `Idempotency-Key`.
    pub async fn place_order_with_key(
        &self,
        client: &Session,
        key: &str,
        body: &Value,
    ) -> TestResponse {
        self.send(
            RawRequest::new("POST", "/orders")
                .bearer(&client.access_token)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// Places a basic-package order with a fresh key and returns its id.
    pub async fn place_order(&self, client: &Session, gig: &Gig) -> Uuid {
        let response = self
            .place_order_with_key(
                client,
                &Uuid::new_v4().to_string(),
                &json!({"gig_id": gig.id, "package": "basic", "requirements": "Blue, please."}),
            )
            .await;
        assert_eq!(response.status, 201, "{response:?}");
        response.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// `POST /orders/{id}/{action}` with the body that action takes.
    pub async fn order_action(&self, who: &Session, order_id: Uuid, action: &str) -> TestResponse {
        let body = match action {
            "reject" | "cancel" => json!({"reason": "Not a fit."}),
            "deliver" => {
                json!({"message": "Here it is.", "attachments": ["https://files.example.com/logo.png"]})
            }
            "request-revision" => json!({"message": "Make it bluer."}),
            _ => json!({}),
        };
        self.post(
            &format!("/orders/{order_id}/{action}"),
            &body,
            Some(&who.access_token),
        )
        .await
    }

    /// Performs `action` and asserts it succeeded.
    pub async fn order_step(&self, who: &Session, order_id: Uuid, action: &str) -> Value {
        let response = self.order_action(who, order_id, action).await;
        assert_eq!(response.status, 200, "{action}: {response:?}");
        response.body
    }

    /// A fresh order in `status`, reached through the API like a user would.
    pub async fn order_in(&self, cast: &Cast, gig: &Gig, status: &str) -> Uuid {
        let id = self.place_order(&cast.client, gig).await;
        let steps: &[(&Session, &str)] = match status {
            "pending" => &[],
            "in_progress" => &[(&cast.freelancer, "accept")],
            "delivered" => &[(&cast.freelancer, "accept"), (&cast.freelancer, "deliver")],
            "completed" => &[
                (&cast.freelancer, "accept"),
                (&cast.freelancer, "deliver"),
                (&cast.client, "complete"),
            ],
            "rejected" => &[(&cast.freelancer, "reject")],
            "cancelled" => &[(&cast.client, "cancel")],
            other => panic!("no such status {other}"),
        };
        for (who, action) in steps {
            self.order_step(who, id, action).await;
        }
        id
    }

    /// `GET /orders/{id}` as `who`.
    pub async fn order(&self, who: &Session, order_id: Uuid) -> TestResponse {
        self.get(&format!("/orders/{order_id}"), Some(&who.access_token))
            .await
    }
}

/// The order-event pipeline around a [`TestApp`]: its own queue in moto, the table's stream,
/// and the mail moto's SES has accepted.
pub struct Pipeline {
    pub queue_url: String,
    pub sqs: aws_sdk_sqs::Client,
    stream: bridge::StreamReader,
}

impl TestApp {
    /// A fresh table plus a fresh order-events queue, with the sender verified in moto's SES.
    pub async fn with_pipeline() -> (Self, Pipeline) {
        crate::require_stack();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("test-{}", Uuid::new_v4().simple()))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "1",
            )
            .send()
            .await
            .expect("queue created")
            .queue_url
            .expect("queue url");
        let app = TestApp::with_config(|config| {
            config.order_events_queue_url = Some(queue_url.clone());
        })
        .await;
        gigmarket_shared::aws::ses(&config)
            .verify_email_identity()
            .email_address(&app.state.config.sender_email)
            .send()
            .await
            .expect("sender verified");
        let stream = bridge::StreamReader::for_table(
            &gigmarket_shared::aws::dynamodb(&config),
            aws_sdk_dynamodbstreams::Client::new(&config),
            &app.state.config.table_name,
        )
        .await
        .expect("table stream");
        (
            app,
            Pipeline {
                queue_url,
                sqs,
                stream,
            },
        )
    }

    pub fn notifier(&self) -> notifier::Notifier {
        notifier::Notifier {
            store: self.state.store.clone(),
            ses: gigmarket_shared::aws::ses(&self.sdk),
            sender: self.state.config.sender_email.clone(),
        }
    }
}

impl Pipeline {
    /// Every stream record not read before, as the Lambda event the dispatcher gets.
    pub async fn stream_event(&mut self) -> aws_lambda_events::event::dynamodb::Event {
        let records = self.stream.read_all().await.expect("stream readable");
        let event = bridge::stream_event(&records, &self.stream.stream_arn, "us-east-1");
        serde_json::from_value(event).expect("a valid DynamoDB stream event")
    }

    /// Receives everything on the queue (without deleting it: like a delivery that is retried).
    pub async fn receive_all(&self) -> Vec<aws_sdk_sqs::types::Message> {
        let mut messages = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .visibility_timeout(60)
                .send()
                .await
                .expect("receive");
            let batch = output.messages.unwrap_or_default();
            if batch.is_empty() {
                return messages;
            }
            messages.extend(batch);
        }
    }

    /// The messages as the SQS event the notifier gets.
    pub fn sqs_event(
        messages: &[aws_sdk_sqs::types::Message],
    ) -> aws_lambda_events::event::sqs::SqsEvent {
        let event = bridge::sqs_event(
            messages,
            "arn:aws:sqs:us-east-1:123456789012:test",
            "us-east-1",
        );
        serde_json::from_value(event).expect("a valid SQS event")
    }
}

/// A mail moto's SES accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Every mail moto has accepted for `address` (moto keeps them at `/moto-api/data.json`).
pub async fn mail_to(address: &str) -> Vec<SentMail> {
    let endpoint = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT (source scripts/env.sh)");
    let data: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{endpoint}/moto-api/data.json"))
        .send()
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto data is JSON");
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|message| SentMail {
            to: message["destinations"]["ToAddresses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|to| to.as_str().map(str::to_owned))
                .collect(),
            subject: message["subject"].as_str().unwrap_or_default().to_owned(),
            body: message["body"].as_str().unwrap_or_default().to_owned(),
        })
        .filter(|mail| mail.to.iter().any(|to| to == address))
        .collect()
}

/// The subjects of the mail to `address`, sorted.
pub async fn subjects_to(address: &str) -> Vec<String> {
    let mut subjects: Vec<String> = mail_to(address)
        .await
        .into_iter()
        .map(|mail| mail.subject)
        .collect();
    subjects.sort();
    subjects
}

/// The mail subjects a place -> accept -> deliver -> complete lifecycle of a gig titled `title`
/// must produce, sorted as `subjects_to` returns them: (to the freelancer, to the client).
pub fn lifecycle_subjects(title: &str) -> (Vec<String>, Vec<String>) {
    let freelancer = vec![
        format!("New order: {title}"),
        format!("Order completed: {title}"),
    ];
    let mut client = vec![
        format!("Delivered: {title}"),
        format!("Order completed: {title}"),
        format!("Your order was accepted: {title}"),
    ];
    client.sort();
    (freelancer, client)
}
