use aws_lambda_events::event::sqs::SqsEvent;
use gigmarket_shared::aws;
use gigmarket_shared::config::Config;
use gigmarket_shared::store::Store;
use gigmarket_shared::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use notifier::Notifier;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let sdk = aws::sdk_config().await;
    let notifier = Notifier {
        store: Store::new(aws::dynamodb(&sdk), config.table_name.clone()),
        ses: aws::ses(&sdk),
        sender: config.sender_email.clone(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let notifier = &notifier;
        async move { Ok::<_, lambda_runtime::Error>(notifier.handle(event.payload).await) }
    }))
    .await
}
