# Sourced by dev.sh and test.sh: points the AWS SDK (in gigctl, the tests and every function that
# `cargo lambda watch` starts) at the local stack described by .local/stack.env.
# shellcheck shell=bash
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# shellcheck source=/dev/null
source "$ROOT/.local/stack.env"
# The SDK reads these itself; the functions have no local-only code path.
export AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_ENDPOINT"
# The stream API (the local bridge reads it) is served by DynamoDB Local on the same port.
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="$DYNAMODB_ENDPOINT"
export AWS_ENDPOINT_URL_SQS="$MOTO_ENDPOINT"
export AWS_ENDPOINT_URL_SES="$MOTO_ENDPOINT"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="$MOTO_ENDPOINT"
# The files bucket (FILES_BUCKET, created by stack.sh) is moto's too; an IP endpoint gets
# path-style URLs from the SDK's own endpoint rules, presigned ones included.
export AWS_ENDPOINT_URL_S3="$MOTO_ENDPOINT"
export FILES_BUCKET
export AWS_DEFAULT_REGION="$AWS_REGION"
# The Stripe client (`shared::stripe::client`) talks to the local stripe service with its dummy
# key; STRIPE_WEBHOOK_SECRETS signs its deliveries (`scripts/stack.sh stripe-webhook URL`),
# STRIPE_CONNECT_WEBHOOK_SECRETS those of connected accounts' events
# (`scripts/stack.sh stripe-connect-webhook URL`).
export STRIPE_API_BASE STRIPE_SECRET_KEY STRIPE_WEBHOOK_SECRETS STRIPE_CONNECT_WEBHOOK_SECRETS
# cargo-lambda from the project venv.
export PATH="$ROOT/.local/venv/bin:$PATH"

# DynamoDB timeouts for DynamoDB Local (shared/src/aws.rs `DynamoDbTimeouts`; deployed functions
# keep the defaults of 1 s connect, 3 s per attempt, 7 s per call). DynamoDB Local answers in
# milliseconds alone, but a queue of 200 concurrent requests in one process (the in-process login
# throttle tests) took attempts up to 5.5 s, 13 s beside the rest of the suite, on the contended
# 2-core machine; these keep such slow-but-alive answers answers (docs/reliability.md,
# "Timeouts"). tests/integration/outage.rs uses the defaults.
export DYNAMODB_CONNECT_TIMEOUT_MS="${DYNAMODB_CONNECT_TIMEOUT_MS:-5000}"
export DYNAMODB_ATTEMPT_TIMEOUT_MS="${DYNAMODB_ATTEMPT_TIMEOUT_MS:-20000}"
export DYNAMODB_OPERATION_TIMEOUT_MS="${DYNAMODB_OPERATION_TIMEOUT_MS:-30000}"
