/**
 * The Gigmarket stack: the same resources as infra/template.yaml, built from the same sources:
 * the table from infra/table.json, the HTTP routes from infra/routes.json (generated from
 * shared/src/routes.rs), the keyset initialiser from infra/jwt-keyset/index.py, and each
 * function's permissions and triggers from ./functions.ts. tests/integration/infra.rs checks the synth output.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as cdk from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';

import { FUNCTIONS, FunctionSpec, Route } from './functions';

/** The repository root (this file is infra/cdk/lib/*.ts, compiled to infra/cdk/dist/lib/*.js). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

const readJson = (relative: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, relative), 'utf8'));

export interface GigmarketStackProps extends cdk.StackProps {
  readonly stage: string;
}

export class GigmarketStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: GigmarketStackProps) {
    super(scope, id, props);
    cdk.Tags.of(this).add('app', 'gigmarket');
    cdk.Tags.of(this).add('stage', props.stage);

    const senderEmail = new cdk.CfnParameter(this, 'SenderEmail', {
      type: 'String',
      allowedPattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      description: 'The SES-verified address order emails are sent from.',
    });
    // Email verification and password reset.
    const appBaseUrl = new cdk.CfnParameter(this, 'AppBaseUrl', {
      type: 'String',
      default: 'http://localhost:3000',
      allowedPattern: '^https?://[^\\s]+$',
      description: 'The web app the verification and password-reset mails link to.',
    });
    const gigAutoApprove = new cdk.CfnParameter(this, 'GigAutoApprove', {
      type: 'String',
      default: 'false',
      allowedValues: ['true', 'false'],
      description: 'New and edited gigs skip the admin review queue.',
    });
    const accessTokenTtl = new cdk.CfnParameter(this, 'AccessTokenTtlSecs', {
      type: 'Number',
      default: 900,
      minValue: 60,
      maxValue: 3600,
      description: 'Access-token (JWT) lifetime in seconds.',
    });
    const refreshTokenTtl = new cdk.CfnParameter(this, 'RefreshTokenTtlSecs', {
      type: 'Number',
      default: 2592000,
      minValue: 3600,
      maxValue: 7776000,
      description: 'Refresh-token lifetime in seconds (default 30 days).',
    });
    const logLevel = new cdk.CfnParameter(this, 'LogLevel', {
      type: 'String',
      default: 'INFO',
      // No TRACE: it would log request and SDK payloads. DEBUG applies to Gigmarket's crates only.
      allowedValues: ['DEBUG', 'INFO', 'WARN', 'ERROR'],
      description: "Application log level of every function (Lambda's ApplicationLogLevel).",
    });
    const logRetentionDays = new cdk.CfnParameter(this, 'LogRetentionDays', {
      type: 'Number',
      default: '30',
      allowedValues: RETENTION_DAYS.map(String),
      description: "Days CloudWatch keeps the functions' logs and the APIs' access logs (HTTP and WebSocket).",
    });
    const alarmEmail = new cdk.CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      allowedPattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      description:
        'Where alarms are mailed (dead-lettered messages, function errors and throttles, API 5xx). ' +
        'SNS mails a confirmation link first; alarms reach the address once it is confirmed.',
    });
    const corsAllowedOrigins = new cdk.CfnParameter(this, 'CorsAllowedOrigins', {
      type: 'CommaDelimitedList',
      description:
        'Origins browsers may call the API from, comma separated, e.g. ' +
        'https://app.example.com,https://admin.example.com (`*` allows any origin; the API uses ' +
        'bearer tokens, never cookies).',
    });
    const filesRetentionDays = new cdk.CfnParameter(this, 'FilesRetentionDays', {
      type: 'Number',
      default: 90,
      minValue: 1,
      description:
        "Days after its order closes that an order's files are deleted (the scheduler's " +
        'ORDER_FILES_RETENTION_DAYS; S3 lifecycle can only count from an object\'s upload).',
    });
    const tableDeletionProtection = new cdk.CfnParameter(this, 'TableDeletionProtection', {
      type: 'String',
      default: 'true',
      allowedValues: ['true', 'false'],
      description:
        'DynamoDB deletion protection on the table (the stack also retains it on deletion). Set ' +
        '"false" only to delete the table by hand.',
    });
    const protectTable = new cdk.CfnCondition(this, 'ProtectTable', {
      expression: cdk.Fn.conditionEquals(tableDeletionProtection.valueAsString, 'true'),
    });

    // ------------------------------------------------------------ data: exactly infra/table.json
    const definition = readJson('infra/table.json');
    const keys = (schema: { AttributeName: string; KeyType: string }[]) =>
      schema.map((key) => ({ attributeName: key.AttributeName, keyType: key.KeyType }));
    const cfnTable = new dynamodb.CfnTable(this, 'Table', {
      attributeDefinitions: definition.AttributeDefinitions.map((a: { AttributeName: string; AttributeType: string }) => ({
        attributeName: a.AttributeName,
        attributeType: a.AttributeType,
      })),
      keySchema: keys(definition.KeySchema),
      globalSecondaryIndexes: definition.GlobalSecondaryIndexes.map(
        (index: { IndexName: string; KeySchema: []; Projection: { ProjectionType: string } }) => ({
          indexName: index.IndexName,
          keySchema: keys(index.KeySchema),
          projection: { projectionType: index.Projection.ProjectionType },
        }),
      ),
      billingMode: definition.BillingMode,
      streamSpecification: definition.StreamSpecification.StreamEnabled
        ? { streamViewType: definition.StreamSpecification.StreamViewType }
        : undefined,
      timeToLiveSpecification: { attributeName: definition.TimeToLiveAttribute, enabled: true },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      sseSpecification: { sseEnabled: true },
      deletionProtectionEnabled: cdk.Fn.conditionIf(protectTable.logicalId, true, false) as unknown as boolean,
    });
    cfnTable.applyRemovalPolicy(cdk.RemovalPolicy.RETAIN);
    const table = dynamodb.Table.fromTableAttributes(this, 'TableRef', {
      tableArn: cfnTable.attrArn,
      tableStreamArn: cfnTable.attrStreamArn,
    });

    // ------------------------------------------------------------ order events
    const orderEventsDlq = new sqs.Queue(this, 'OrderEventsDlq', {
      retentionPeriod: cdk.Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const orderEventsQueue = new sqs.Queue(this, 'OrderEventsQueue', {
      visibilityTimeout: cdk.Duration.seconds(60),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: orderEventsDlq, maxReceiveCount: 5 },
    });
    // Stream batches the dispatcher gave up on (after retries and bisecting): their metadata.
    const streamFailuresDlq = new sqs.Queue(this, 'StreamFailuresDlq', {
      retentionPeriod: cdk.Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const sendOrderEmailPolicy = new iam.ManagedPolicy(this, 'SendOrderEmailPolicy', {
      description: 'Send order emails through SES, only from the configured sender address.',
      statements: [
        new iam.PolicyStatement({
          // SendEmail only: the notifier never sends raw MIME.
          actions: ['ses:SendEmail'],
          resources: [this.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
          conditions: { StringEquals: { 'ses:FromAddress': senderEmail.valueAsString } },
        }),
      ],
    });

    // ------------------------------------------------------------ JWT keysets
    // Random placeholders, overwritten once on create by the initialiser with a fresh Ed25519
    // key: its seed in the signing keyset (auth alone reads it), its public key and a cursor key
    // in the verifying keyset (every API function).
    const jwtKeysSecret = new secretsmanager.Secret(this, 'JwtKeysSecret', {
      secretName: `gigmarket/${props.stage}/jwt-keys`,
      description: 'Gigmarket JWT verifying keyset (Ed25519 public keys, cursor key), see docs/deploy.md "The JWT keysets"',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const jwtSigningKeysSecret = new secretsmanager.Secret(this, 'JwtSigningKeysSecret', {
      secretName: `gigmarket/${props.stage}/jwt-signing-keys`,
      description: 'Gigmarket JWT signing keyset (Ed25519 seeds; auth alone reads it), see docs/deploy.md "The JWT keysets"',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const keysetInit = new lambda.Function(this, 'JwtKeysetInitFunction', {
      description: 'Writes the initial JWT keysets into their secrets (CloudFormation custom resource)',
      runtime: lambda.Runtime.PYTHON_3_13,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      timeout: cdk.Duration.seconds(30),
      code: lambda.Code.fromInline(fs.readFileSync(path.join(REPO_ROOT, 'infra/jwt-keyset/index.py'), 'utf8')),
    });
    keysetInit.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:PutSecretValue'],
        resources: [jwtKeysSecret.secretArn, jwtSigningKeysSecret.secretArn],
      }),
    );
    const jwtKeyset = new cdk.CustomResource(this, 'JwtKeyset', {
      serviceToken: keysetInit.functionArn,
      resourceType: 'Custom::JwtKeyset',
      properties: { SecretId: jwtKeysSecret.secretArn, SigningSecretId: jwtSigningKeysSecret.secretArn },
    });

    // ------------------------------------------------------------ Stripe secrets
    // Random placeholders; the operator puts the real values once (docs/deploy.md, "Stripe
    // secrets"), and stack updates never touch them.
    const stripeSecretKeySecret = new secretsmanager.Secret(this, 'StripeSecretKeySecret', {
      secretName: `gigmarket/${props.stage}/stripe-secret-key`,
      description: 'Gigmarket\'s Stripe secret key (sk_...), see docs/deploy.md "Stripe secrets"',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    const stripeWebhookSecretsSecret = new secretsmanager.Secret(this, 'StripeWebhookSecretsSecret', {
      secretName: `gigmarket/${props.stage}/stripe-webhook-secrets`,
      description: 'The Stripe webhook\'s signing secrets (whsec_..., one a line), see docs/deploy.md "Stripe secrets"',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });

    const stripeConnectWebhookSecretsSecret = new secretsmanager.Secret(this, 'StripeConnectWebhookSecretsSecret', {
      secretName: `gigmarket/${props.stage}/stripe-connect-webhook-secrets`,
      description: 'The Stripe Connect webhook\'s signing secrets (whsec_..., one a line), see docs/deploy.md "Stripe secrets"',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });

    // ------------------------------------------------------------ functions
    const crates = fs
      .readdirSync(path.join(REPO_ROOT, 'functions'))
      .filter((name) => fs.existsSync(path.join(REPO_ROOT, 'functions', name, 'Cargo.toml')));
    for (const crate of crates) {
      if (!FUNCTIONS.some((spec) => spec.name === crate)) {
        throw new Error(`functions/${crate} has no entry in infra/cdk/lib/functions.ts`);
      }
    }
    for (const spec of FUNCTIONS) {
      if (!crates.includes(spec.name)) {
        throw new Error(`infra/cdk/lib/functions.ts: ${spec.name} has no crate functions/${spec.name}`);
      }
    }
    // ------------------------------------------------------------ files (as infra/template.yaml)
    // Private, public access blocked, ACLs off, SSE-S3, no versioning; CORS for the web app's
    // uploads and downloads; incomplete uploads aborted, closed orders' files expired by tag.
    const filesBucket = new s3.CfnBucket(this, 'FilesBucket', {
      bucketEncryption: {
        serverSideEncryptionConfiguration: [
          { serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true },
        ],
      },
      publicAccessBlockConfiguration: {
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      ownershipControls: { rules: [{ objectOwnership: 'BucketOwnerEnforced' }] },
      corsConfiguration: {
        corsRules: [
          {
            allowedOrigins: corsAllowedOrigins.valueAsList,
            allowedMethods: ['POST', 'GET'],
            allowedHeaders: ['*'],
            maxAge: 3000,
          },
        ],
      },
      lifecycleConfiguration: {
        rules: [
          { id: 'AbortIncompleteUploads', status: 'Enabled', abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
          // No expiry rule: S3 lifecycle counts days from an object's upload, never from its
          // order's close, so the scheduler deletes a closed order's files (expiresOrderFiles).
        ],
      },
    });
    new cdk.CfnOutput(this, 'FilesBucketName', {
      description: "The bucket of orders' files and conversations' attachments",
      value: filesBucket.ref,
    });

    // ------------------------------------------------------------ the search index
    // The published index (written by the indexer, read by `search`), as infra/template.yaml.
    const searchIndexBucket = new s3.CfnBucket(this, 'SearchIndexBucket', {
      bucketEncryption: {
        serverSideEncryptionConfiguration: [
          { serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true },
        ],
      },
      publicAccessBlockConfiguration: {
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      ownershipControls: { rules: [{ objectOwnership: 'BucketOwnerEnforced' }] },
      lifecycleConfiguration: {
        rules: [{ id: 'AbortIncompleteUploads', status: 'Enabled', abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }],
      },
    });
    // dispatcher (every gig write) -> SearchIndexQueue -> indexer; 5 failed receives -> DLQ.
    const searchIndexDlq = new sqs.Queue(this, 'SearchIndexDlq', {
      retentionPeriod: cdk.Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const searchIndexQueue = new sqs.Queue(this, 'SearchIndexQueue', {
      // Six times the indexer's timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: cdk.Duration.seconds(720),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: searchIndexDlq, maxReceiveCount: 5 },
    });
    new cdk.CfnOutput(this, 'SearchIndexBucketName', {
      description: 'The published gig search index',
      value: searchIndexBucket.ref,
    });
    new cdk.CfnOutput(this, 'SearchIndexQueueUrl', { value: searchIndexQueue.queueUrl });
    new cdk.CfnOutput(this, 'SearchIndexDlqUrl', { value: searchIndexDlq.queueUrl });

    const environment = {
      TABLE_NAME: cfnTable.ref,
      JWT_KEYS_SECRET_ID: jwtKeysSecret.secretArn,
      ACCESS_TOKEN_TTL_SECS: accessTokenTtl.valueAsString,
      REFRESH_TOKEN_TTL_SECS: refreshTokenTtl.valueAsString,
      GIG_AUTO_APPROVE: gigAutoApprove.valueAsString,
      SENDER_EMAIL: senderEmail.valueAsString,
      ORDER_EVENTS_QUEUE_URL: orderEventsQueue.queueUrl,
      APP_BASE_URL: appBaseUrl.valueAsString,
      METRICS_NAMESPACE: `Gigmarket/${props.stage}`,
    };
    // Alarms go to one topic that AlarmEmail subscribes to (and must confirm).
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Gigmarket alarms' });
    new sns.Subscription(this, 'AlarmEmailSubscription', {
      topic: alarmTopic,
      protocol: sns.SubscriptionProtocol.EMAIL,
      endpoint: alarmEmail.valueAsString,
    });
    const alarmAction = new cwActions.SnsAction(alarmTopic);
    const anyIn5Minutes = (id: string, description: string, metric: cloudwatch.Metric) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(alarmAction);
    // Any message in a DLQ is an event or a stream batch that was given up on.
    anyIn5Minutes(
      'OrderEventsDlqAlarm',
      'Order events were dead-lettered (the notifier failed 5 times)',
      orderEventsDlq.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(5), statistic: 'Maximum' }),
    );
    anyIn5Minutes(
      'StreamFailuresDlqAlarm',
      'Stream batches were given up on (the dispatcher failed after retries)',
      streamFailuresDlq.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(5), statistic: 'Maximum' }),
    );

    anyIn5Minutes(
      'SearchIndexDlqAlarm',
      'Search index hints were dead-lettered (the indexer failed 5 times)',
      searchIndexDlq.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(5), statistic: 'Maximum' }),
    );
    // How stale search is: a hint's enqueueing to the publication that applied it (EMF, indexer).
    new cloudwatch.Alarm(this, 'SearchIndexLagAlarm', {
      alarmDescription: 'Gig changes took over a minute to become searchable (p99, 15 minutes)',
      metric: new cloudwatch.Metric({
        namespace: `Gigmarket/${props.stage}`,
        metricName: 'SearchIndexLag',
        period: cdk.Duration.minutes(15),
        statistic: 'p99',
      }),
      threshold: 60_000,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);
    // `search` could not load a published version and serves the one it has (EMF).
    anyIn5Minutes(
      'SearchIndexRefreshFailuresAlarm',
      'search kept an older index version (a published one could not be loaded)',
      new cloudwatch.Metric({
        namespace: `Gigmarket/${props.stage}`,
        metricName: 'SearchIndexRefreshFailures',
        period: cdk.Duration.minutes(5),
        statistic: 'Sum',
      }),
    );

    const functions = new Map<string, lambda.Function>();
    for (const spec of FUNCTIONS) {
      const logGroup = new logs.CfnLogGroup(this, `${pascal(spec.name)}LogGroup`, {
        logGroupName: `/aws/lambda/${this.stackName}-${spec.name}`,
        retentionInDays: logRetentionDays.valueAsNumber,
      });
      const fn = this.rustFunction(
        spec,
        environment,
        logLevel.valueAsString,
        logs.LogGroup.fromLogGroupName(this, `${pascal(spec.name)}LogGroupRef`, logGroup.ref),
      );
      // Errors and Throttles of every function (any in 5 minutes).
      const period = cdk.Duration.minutes(5);
      anyIn5Minutes(`${pascal(spec.name)}ErrorsAlarm`, `${spec.name} function errors`, fn.metricErrors({ period, statistic: 'Sum' }));
      anyIn5Minutes(`${pascal(spec.name)}ThrottlesAlarm`, `${spec.name} function throttles`, fn.metricThrottles({ period, statistic: 'Sum' }));
      if (spec.table) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'Table',
            actions: spec.table.actions,
            resources: [table.tableArn],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': spec.table.leadingKeys } },
          }),
        );
      }
      if (spec.queriesIndexes) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'TableIndexes',
            actions: ['dynamodb:Query'],
            resources: [`${table.tableArn}/index/*`],
          }),
        );
      }
      // Each secret a function reads at cold start (shared/src/aws.rs): GetSecretValue on it alone.
      const readSecret = (sid: string, secret: secretsmanager.Secret) =>
        fn.addToRolePolicy(
          new iam.PolicyStatement({ sid, actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
        );
      if (spec.readsJwtKeys) {
        // Functions read the keyset at cold start: only after the initialiser has written it.
        fn.node.addDependency(jwtKeyset);
        readSecret('JwtKeys', jwtKeysSecret);
      }
      if (spec.signsAccessTokens) {
        // Only auth signs access tokens: no other function can read the private keys.
        fn.addEnvironment('JWT_SIGNING_KEYS_SECRET_ID', jwtSigningKeysSecret.secretArn);
        readSecret('JwtSigningKeys', jwtSigningKeysSecret);
      }
      if (spec.readsStripeKey) {
        fn.addEnvironment('STRIPE_SECRET_KEY_ID', stripeSecretKeySecret.secretArn);
        readSecret('StripeSecretKey', stripeSecretKeySecret);
      }
      if (spec.readsStripeWebhookSecrets) {
        fn.addEnvironment('STRIPE_WEBHOOK_SECRETS_ID', stripeWebhookSecretsSecret.secretArn);
        readSecret('StripeWebhookSecrets', stripeWebhookSecretsSecret);
      }
      if (spec.readsStripeConnectWebhookSecrets) {
        fn.addEnvironment('STRIPE_CONNECT_WEBHOOK_SECRETS_ID', stripeConnectWebhookSecretsSecret.secretArn);
        readSecret('StripeConnectWebhookSecrets', stripeConnectWebhookSecretsSecret);
      }
      if (spec.sendsOrderEvents) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'OrderEvents',
            actions: ['sqs:SendMessage'],
            resources: [orderEventsQueue.queueArn],
          }),
        );
      }
      if (spec.sendsSearchIndexHints) {
        fn.addEnvironment('SEARCH_INDEX_QUEUE_URL', searchIndexQueue.queueUrl);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'SearchIndexHints',
            actions: ['sqs:SendMessage'],
            resources: [searchIndexQueue.queueArn],
          }),
        );
      }
      if (spec.searchIndex) {
        // The published index (shared/src/search_index.rs): the manifest and segment files; the
        // writer also puts new files and deletes retired ones.
        fn.addEnvironment('SEARCH_INDEX_BUCKET', searchIndexBucket.ref);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'SearchIndex',
            actions: spec.searchIndex === 'write' ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : ['s3:GetObject'],
            resources: [`${searchIndexBucket.attrArn}/search-index/*`],
          }),
        );
        // The manifest before the first publication answers 404 (not 403) only to a role that
        // may list the bucket.
        fn.addToRolePolicy(
          new iam.PolicyStatement({ sid: 'SearchIndexList', actions: ['s3:ListBucket'], resources: [searchIndexBucket.attrArn] }),
        );
      }
      if (spec.sendsEmail) fn.role?.addManagedPolicy(sendOrderEmailPolicy);
      if (spec.filesPrefix) {
        // Its prefix of the files bucket only (shared/src/files.rs): PutObject signs uploads,
        // GetObject HeadObject and downloads, DeleteObject a refused upload and a file its
        // uploader deletes unused.
        fn.addEnvironment('FILES_BUCKET', filesBucket.ref);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: spec.filesPrefix === 'orders/' ? 'OrderFiles' : 'ConversationFiles',
            actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
            resources: [`${filesBucket.attrArn}/${spec.filesPrefix}*`],
          }),
        );
        // HeadObject of a file never uploaded answers 404 (not 403) only to a role that may list
        // the bucket: the "not uploaded" answer needs it.
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: spec.filesPrefix === 'orders/' ? 'OrderFilesList' : 'ConversationFilesList',
            actions: ['s3:ListBucket'],
            resources: [filesBucket.attrArn],
          }),
        );
      }
      if (spec.expiresOrderFiles) {
        // DeleteObject only, on the orders' prefix (shared/src/app/files.rs `expire_order_files`).
        fn.addEnvironment('FILES_BUCKET', filesBucket.ref);
        fn.addEnvironment('ORDER_FILES_RETENTION_DAYS', filesRetentionDays.valueAsString);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'OrderFiles',
            actions: ['s3:DeleteObject'],
            resources: [`${filesBucket.attrArn}/orders/*`],
          }),
        );
      }
      switch (spec.trigger?.kind) {
        case 'orderStream': {
          // Only order, review, message and dispute items (entity "order" / "review" /
          // "message" / "dispute", shared/src/store/keys.rs) become events; removals have no
          // NewImage and are ignored by the dispatcher anyway.
          const isEventItem = { entity: { S: lambda.FilterRule.or('order', 'review', 'message', 'dispute') } };
          // Every write of a gig item: each is a hint for the search index writer; the
          // dispatcher also mails a moderation decision when its `decision_id` is new.
          const isGig = { entity: { S: lambda.FilterRule.or('gig') } };
          // Earnings only as they clear (status pending -> available), withdrawals only with no
          // transfer on its way (no gsi3 key, shared/src/store/payouts.rs); the dispatcher mails
          // the first such write of a withdrawal and skips Stripe's later confirmations.
          const clearedEarning = {
            NewImage: { entity: { S: lambda.FilterRule.or('earning') }, status: { S: lambda.FilterRule.or('available') } },
            OldImage: { status: { S: lambda.FilterRule.or('pending') } },
          };
          const settledWithdrawal = { entity: { S: lambda.FilterRule.or('withdrawal') }, gsi3pk: { S: lambda.FilterRule.notExists() } };
          // Admin refunds only as Stripe accepts them (status requested -> pending or succeeded).
          const issuedAdminRefund = {
            NewImage: { entity: { S: lambda.FilterRule.or('admin_refund') }, status: { S: lambda.FilterRule.or('pending', 'succeeded') } },
            OldImage: { status: { S: lambda.FilterRule.or('requested') } },
          };
          fn.addEventSource(
            new sources.DynamoEventSource(table, {
              startingPosition: lambda.StartingPosition.LATEST,
              batchSize: 100,
              bisectBatchOnError: true,
              retryAttempts: 5,
              maxRecordAge: cdk.Duration.hours(24),
              reportBatchItemFailures: true,
              onFailure: new sources.SqsDlq(streamFailuresDlq),
              filters: [
                lambda.FilterCriteria.filter({ dynamodb: { NewImage: isEventItem } }),
                lambda.FilterCriteria.filter({ dynamodb: { NewImage: isGig } }),
                lambda.FilterCriteria.filter({ dynamodb: clearedEarning }),
                lambda.FilterCriteria.filter({ dynamodb: { NewImage: settledWithdrawal } }),
                lambda.FilterCriteria.filter({ dynamodb: issuedAdminRefund }),
              ],
            }),
          );
          break;
        }
        case 'orderQueue':
          fn.addEventSource(new sources.SqsEventSource(orderEventsQueue, { batchSize: 10, reportBatchItemFailures: true }));
          break;
        case 'searchIndexQueue':
          // One run and one publication per batch: up to 100 hints gathered for a second.
          fn.addEventSource(
            new sources.SqsEventSource(searchIndexQueue, {
              batchSize: 100,
              maxBatchingWindow: cdk.Duration.seconds(1),
              reportBatchItemFailures: true,
            }),
          );
          // The full rebuild: repairs whatever a lost hint left behind.
          new events.Rule(this, `${pascal(spec.name)}Rebuild`, {
            schedule: events.Schedule.expression(spec.trigger.rebuildSchedule),
            targets: [new targets.LambdaFunction(fn)],
          });
          break;
        case 'schedule':
          new events.Rule(this, `${pascal(spec.name)}Schedule`, {
            schedule: events.Schedule.expression(spec.trigger.expression),
            targets: [new targets.LambdaFunction(fn)],
          });
          break;
        case undefined:
          break;
      }
      functions.set(spec.name, fn);
    }

    // ------------------------------------------------------------ the API: infra/routes.json
    const api = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Gigmarket public API (routes from shared/src/routes.rs)',
      corsPreflight: {
        allowOrigins: corsAllowedOrigins.valueAsList,
        allowMethods: [
          apigwv2.CorsHttpMethod.GET,
          apigwv2.CorsHttpMethod.POST,
          apigwv2.CorsHttpMethod.PATCH,
          apigwv2.CorsHttpMethod.DELETE,
        ],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match'],
        exposeHeaders: ['etag', 'location', 'retry-after', 'x-request-id'],
        maxAge: cdk.Duration.seconds(600),
      },
    });
    const apiAccessLogs = new logs.CfnLogGroup(this, 'ApiAccessLogs', {
      logGroupName: `/aws/apigateway/${this.stackName}-access`,
      retentionInDays: logRetentionDays.valueAsNumber,
    });
    const defaultStage = api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
    defaultStage.defaultRouteSettings = { throttlingBurstLimit: 200, throttlingRateLimit: 100 };
    // One JSON line per request; never headers or bodies.
    defaultStage.accessLogSettings = { destinationArn: apiAccessLogs.attrArn, format: ACCESS_LOG_FORMAT };
    anyIn5Minutes(
      'Api5xxAlarm',
      'The API answered 5xx (a function error, timeout or throttle)',
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5xx',
        dimensionsMap: { ApiId: api.apiId },
        period: cdk.Duration.minutes(5),
        statistic: 'Sum',
      }),
    );
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of readJson('infra/routes.json') as Route[]) {
      const fn = functions.get(route.function);
      if (!fn) {
        throw new Error(`route ${route.method} ${route.path} names function ${route.function}, which is not deployed`);
      }
      if (!integrations.has(route.function)) {
        integrations.set(route.function, new HttpLambdaIntegration(`${pascal(route.function)}Integration`, fn));
      }
      api.addRoutes({
        path: route.path,
        methods: [route.method as apigwv2.HttpMethod],
        integration: integrations.get(route.function)!,
      });
    }

    // ------------------------------------------------------------ the WebSocket API (realtime)
    // Clients connect with ?ticket= (POST /realtime/tickets); every route integrates with the
    // realtime function, which tells these events from the HTTP API's by their shape. Message
    // routes are two-way: the function's answer body goes back to the client.
    const realtime = functions.get('realtime');
    if (!realtime) {
      throw new Error('the WebSocket API needs the realtime function');
    }
    const socketIntegration = new WebSocketLambdaIntegration('WebSocketIntegration', realtime);
    const socketApi = new apigwv2.WebSocketApi(this, 'WebSocketApi', {
      apiName: `${this.stackName}-realtime`,
      description: 'Gigmarket real time (function realtime; docs/api.md, "Real time")',
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration: socketIntegration },
      disconnectRouteOptions: { integration: socketIntegration },
      defaultRouteOptions: { integration: socketIntegration, returnResponse: true },
    });
    socketApi.addRoute('ping', { integration: socketIntegration, returnResponse: true });
    const socketStage = new apigwv2.WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: socketApi,
      stageName: 'live',
      autoDeploy: true,
      throttle: { burstLimit: 200, rateLimit: 100 },
    });
    // REST and WebSocket APIs write their logs with the one role set on API Gateway's account
    // settings per region (HTTP APIs use a service-linked role): AWS answers "CloudWatch Logs
    // role ARN must be set in account settings to enable logging" to a WebSocket stage with logs
    // and no such role. The setting is account-wide and outlives the stack, so the role is
    // retained: deleting it would break the logging of every other stack in the account and region.
    const apiGatewayLogsRole = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    apiGatewayLogsRole.applyRemovalPolicy(cdk.RemovalPolicy.RETAIN);
    const apiGatewayAccount = new apigateway.CfnAccount(this, 'ApiGatewayAccount', {
      cloudWatchRoleArn: apiGatewayLogsRole.roleArn,
    });
    const socketAccessLogs = new logs.CfnLogGroup(this, 'WebSocketAccessLogs', {
      logGroupName: `/aws/apigateway/${this.stackName}-realtime-access`,
      retentionInDays: logRetentionDays.valueAsNumber,
    });
    const socketStageResource = socketStage.node.defaultChild as apigwv2.CfnStage;
    // One JSON line per connect, message and disconnect; never bodies or the ticket.
    socketStageResource.accessLogSettings = { destinationArn: socketAccessLogs.attrArn, format: SOCKET_ACCESS_LOG_FORMAT };
    socketStage.node.addDependency(apiGatewayAccount);
    // The stage's management endpoint (PostToConnection, DeleteConnection).
    realtime.addEnvironment('REALTIME_CALLBACK_URL', socketStage.callbackUrl);
    // PostToConnection: a push to one connection of this stage.
    realtime.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PushToConnections',
        actions: ['execute-api:ManageConnections'],
        resources: [
          cdk.Stack.of(this).formatArn({
            service: 'execute-api',
            resource: socketApi.apiId,
            resourceName: `${socketStage.stageName}/POST/@connections/*`,
          }),
        ],
      }),
    );
    // The stream's second and last reader (the dispatcher is the first): only the changes a
    // client hears about live: messages and orders, published reviews, inbox entries with a read
    // receipt, user items with an unread total. Pushes are worth seconds: an old record is skipped rather
    // than pushed late.
    realtime.addEventSource(
      new sources.DynamoEventSource(table, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 3,
        maxRecordAge: cdk.Duration.seconds(60),
        reportBatchItemFailures: true,
        filters: [
          lambda.FilterCriteria.filter({ dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or('message', 'order') } } } }),
          lambda.FilterCriteria.filter({
            dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or('review') }, state: { S: lambda.FilterRule.or('published') } } },
          }),
          lambda.FilterCriteria.filter({
            dynamodb: {
              NewImage: {
                entity: { S: lambda.FilterRule.or('conversation_member') },
                counterpart_last_read_at: { S: lambda.FilterRule.exists() },
              },
            },
          }),
          lambda.FilterCriteria.filter({
            dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or('user') }, unread_messages: { N: lambda.FilterRule.exists() } } },
          }),
        ],
      }),
    );
    // Pushes that failed for another reason than a gone connection (EMF, shared/src/emf.rs).
    anyIn5Minutes(
      'RealtimePushFailuresAlarm',
      'realtime pushes to WebSocket connections failed',
      new cloudwatch.Metric({
        namespace: `Gigmarket/${props.stage}`,
        metricName: 'PushFailures',
        period: cdk.Duration.minutes(5),
        statistic: 'Sum',
      }),
    );

    // Deliveries to the Stripe webhook refused for their signature (EMF, shared/src/emf.rs): a
    // forgery attempt, or a webhook secret rolled at Stripe and not yet in the secret.
    anyIn5Minutes(
      'PaymentsWebhookSignatureFailuresAlarm',
      'Stripe webhook deliveries failed signature verification',
      new cloudwatch.Metric({
        namespace: `Gigmarket/${props.stage}`,
        metricName: 'WebhookSignatureFailures',
        period: cdk.Duration.minutes(5),
        statistic: 'Sum',
      }),
    );

    new cdk.CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint, description: 'Base URL of the HTTP API' });
    new cdk.CfnOutput(this, 'WebSocketUrl', {
      value: socketStage.url,
      description: 'Where clients connect (with ?ticket= from POST /realtime/tickets)',
    });
    new cdk.CfnOutput(this, 'TableName', { value: cfnTable.ref, description: 'The DynamoDB table' });
    new cdk.CfnOutput(this, 'OrderEventsQueueUrl', { value: orderEventsQueue.queueUrl });
    new cdk.CfnOutput(this, 'OrderEventsDlqUrl', { value: orderEventsDlq.queueUrl });
    new cdk.CfnOutput(this, 'JwtKeysSecretArn', { value: jwtKeysSecret.secretArn });
    new cdk.CfnOutput(this, 'JwtSigningKeysSecretArn', { value: jwtSigningKeysSecret.secretArn });
    new cdk.CfnOutput(this, 'StripeSecretKeySecretArn', { value: stripeSecretKeySecret.secretArn });
    new cdk.CfnOutput(this, 'StripeWebhookSecretsSecretArn', { value: stripeWebhookSecretsSecret.secretArn });
    new cdk.CfnOutput(this, 'StripeConnectWebhookSecretsSecretArn', {
      value: stripeConnectWebhookSecretsSecret.secretArn,
    });
    new cdk.CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn });
  }

  private rustFunction(
    spec: FunctionSpec,
    environment: Record<string, string>,
    logLevel: string,
    logGroup: logs.ILogGroup,
  ): lambda.Function {
    const fn = new RustFunction(this, `${pascal(spec.name)}Function`, {
      manifestPath: path.join(REPO_ROOT, 'functions', spec.name, 'Cargo.toml'),
      binaryName: spec.name,
      architecture: lambda.Architecture.ARM_64,
      description: spec.description,
      memorySize: spec.memorySize ?? 256,
      reservedConcurrentExecutions: spec.reservedConcurrency,
      timeout: cdk.Duration.seconds(spec.timeoutSeconds ?? 10),
      environment,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: logLevel as lambda.ApplicationLogLevel,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      logGroup,
      // X-Ray: every invocation and its AWS SDK calls' latency (HTTP APIs themselves can not trace).
      tracing: lambda.Tracing.ACTIVE,
    });
    // tests/integration/infra.rs maps deployed functions to crates by this tag.
    cdk.Tags.of(fn).add('gigmarket:function', spec.name);
    return fn;
  }
}

/** CloudWatch Logs' allowed retention periods. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** The API access log line, as in infra/template.yaml (tests/integration/infra.rs compares them). */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  userAgent: '$context.identity.userAgent',
});

/** The WebSocket API access log line, as in infra/template.yaml (tests/integration/infra.rs compares them). */
const SOCKET_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  error: '$context.error.message',
  integrationLatencyMs: '$context.integrationLatency',
});

const pascal = (name: string) =>
  name
    .split(/[^a-zA-Z0-9]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
