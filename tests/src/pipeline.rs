//! The order-event pipeline around a [`TestApp`] (its own queue in moto, the table's stream, the
//! dispatcher and notifier called in-process) and the mail moto's SES has accepted.

use serde_json::Value;
use uuid::Uuid;

use crate::TestApp;
/// The order-event pipeline around a [`TestApp`]: its own queue in moto, the table's stream,
/// and the mail moto's SES has accepted.
pub struct Pipeline {
    pub queue_url: String,
    /// Its own search index queue, where the dispatcher sends gig hints.
    pub search_index_queue_url: String,
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
        let search_index_queue_url = sqs
            .create_queue()
            .queue_name(format!("test-hints-{}", Uuid::new_v4().simple()))
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
                search_index_queue_url,
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
    /// The dispatcher's queues: this pipeline's events and search index queues.
    pub fn queues(&self) -> dispatcher::Queues {
        dispatcher::Queues {
            events: self.queue_url.clone(),
            search_index: self.search_index_queue_url.clone(),
        }
    }

    /// Every stream record not read before, as the Lambda event the dispatcher gets.
    pub async fn stream_event(&mut self) -> aws_lambda_events::event::dynamodb::Event {
        let records = self.stream.read_all().await.expect("stream readable");
        let event = bridge::stream_event(&records, &self.stream.stream_arn, "us-east-1");
        serde_json::from_value(event).expect("a valid DynamoDB stream event")
    }

    /// Receives everything on the queue but the account mails (without deleting it: like a
    /// delivery that is retried). Every registration queues a verification mail, the fixtures'
    /// users too; the tests about other events leave those out (see [`Self::receive_everything`]).
    pub async fn receive_all(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.receive_everything()
            .await
            .into_iter()
            .filter(|message| {
                let event = message.body().and_then(|body| {
                    serde_json::from_str::<gigmarket_shared::events::Event>(body).ok()
                });
                event.is_none_or(|event| event.event_type.subject_name() != "account")
            })
            .collect()
    }

    /// Receives everything on the queue, account mails included.
    pub async fn receive_everything(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.receive_everything_on(&self.queue_url).await
    }

    /// The search index hints on the pipeline's search index queue, as [`Self::receive_all`].
    pub async fn receive_hints(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.receive_everything_on(&self.search_index_queue_url)
            .await
    }

    async fn receive_everything_on(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut messages = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
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

/// Deletes `messages` from `queue_url`, as Lambda does with the messages a batch acknowledged.
pub async fn delete_messages<'a>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: impl IntoIterator<Item = &'a aws_sdk_sqs::types::Message>,
) {
    let entries: Vec<aws_sdk_sqs::types::DeleteMessageBatchRequestEntry> = messages
        .into_iter()
        .enumerate()
        .map(|(index, message)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .receipt_handle(message.receipt_handle().expect("a received message"))
                .build()
                .expect("id and receipt handle")
        })
        .collect();
    for batch in entries.chunks(10) {
        sqs.delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(batch.to_vec()))
            .send()
            .await
            .expect("messages deleted");
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
    all_mail()
        .await
        .into_iter()
        .filter(|mail| mail.to.iter().any(|to| to == address))
        .collect()
}

/// Every mail moto has accepted, in the order it accepted them.
pub async fn all_mail() -> Vec<SentMail> {
    let data = moto_state().await;
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
        .collect()
}

/// moto's whole state, as `/moto-api/data.json` dumps it.
///
/// moto builds that dump by reading every property of every model it tracks while other
/// requests change them, and one of those properties (`Queue.pending_message_groups`) iterates a
/// live set: when a queue's messages are received or deleted during the dump, moto answers a 500
/// page ("Set changed size during iteration") instead of JSON. The dump changes nothing, so such
/// an answer is asked for again; only a dump that keeps failing fails the test, with what moto
/// said.
async fn moto_state() -> Value {
    const ATTEMPTS: u64 = 5;
    let endpoint = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT (source scripts/env.sh)");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut last_answer = String::new();
    for attempt in 1..=ATTEMPTS {
        let response = http
            .get(format!("{endpoint}/moto-api/data.json"))
            .send()
            .await
            .expect("moto answers");
        let status = response.status();
        let body = response.bytes().await.expect("moto's answer is read");
        if status.is_success()
            && let Ok(state) = serde_json::from_slice(&body)
        {
            return state;
        }
        let head = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        last_answer = format!("{status}: {head}");
        tokio::time::sleep(std::time::Duration::from_millis(250 * attempt)).await;
    }
    panic!("moto's data.json failed {ATTEMPTS} times; the last answer was {last_answer}");
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
        format!("Receipt: {title}"),
    ];
    client.sort();
    (freelancer, client)
}
