/**
 * The Gigmarket stack: the same resources as infra/template.yaml, built from the same sources:
 * the table from infra/table.json, the HTTP routes from infra/routes.json (generated from
 * shared/src/routes.rs), the keyset initialiser from infra/jwt-keyset/index.py, and each
 * function's permissions and triggers from ./functions.ts. tests/infra.rs checks the synth output.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as cdk from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
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
      allowedValues: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'],
      description: 'Application log level of every function.',
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
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [this.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
          conditions: { StringEquals: { 'ses:FromAddress': senderEmail.valueAsString } },
        }),
      ],
    });

    // ------------------------------------------------------------ JWT keyset
    // A random placeholder, overwritten once on create by the initialiser with a real keyset.
    const jwtKeysSecret = new secretsmanager.Secret(this, 'JwtKeysSecret', {
      secretName: `gigmarket/${props.stage}/jwt-keys`,
      description: 'Gigmarket JWT signing keyset (HS256), see README "Auth"',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const keysetInit = new lambda.Function(this, 'JwtKeysetInitFunction', {
      description: 'Writes the initial JWT keyset into the secret (CloudFormation custom resource)',
      runtime: lambda.Runtime.PYTHON_3_13,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      timeout: cdk.Duration.seconds(30),
      code: lambda.Code.fromInline(fs.readFileSync(path.join(REPO_ROOT, 'infra/jwt-keyset/index.py'), 'utf8')),
    });
    keysetInit.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:PutSecretValue'], resources: [jwtKeysSecret.secretArn] }),
    );
    const jwtKeyset = new cdk.CustomResource(this, 'JwtKeyset', {
      serviceToken: keysetInit.functionArn,
      resourceType: 'Custom::JwtKeyset',
      properties: { SecretId: jwtKeysSecret.secretArn },
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
    const environment = {
      TABLE_NAME: cfnTable.ref,
      JWT_KEYS_SECRET_ID: jwtKeysSecret.secretArn,
      ACCESS_TOKEN_TTL_SECS: accessTokenTtl.valueAsString,
      REFRESH_TOKEN_TTL_SECS: refreshTokenTtl.valueAsString,
      GIG_AUTO_APPROVE: gigAutoApprove.valueAsString,
      SENDER_EMAIL: senderEmail.valueAsString,
      ORDER_EVENTS_QUEUE_URL: orderEventsQueue.queueUrl,
    };
    const functions = new Map<string, lambda.Function>();
    for (const spec of FUNCTIONS) {
      const fn = this.rustFunction(spec, environment, logLevel.valueAsString);
      if (spec.tableActions.length > 0) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'Table',
            actions: spec.tableActions,
            resources: spec.queriesIndexes ? [table.tableArn, `${table.tableArn}/index/*`] : [table.tableArn],
          }),
        );
      }
      if (spec.readsJwtKeys) {
        // Functions read the keyset at cold start: only after the initialiser has written it.
        fn.node.addDependency(jwtKeyset);
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            sid: 'JwtKeys',
            actions: ['secretsmanager:GetSecretValue'],
            resources: [jwtKeysSecret.secretArn],
          }),
        );
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
      if (spec.sendsEmail) fn.role?.addManagedPolicy(sendOrderEmailPolicy);
      switch (spec.trigger?.kind) {
        case 'orderStream': {
          // Only order items (entity "order", shared/src/store/keys.rs) become events; removals
          // have no NewImage and are ignored by the dispatcher anyway.
          const isOrder = { entity: { S: lambda.FilterRule.isEqual('order') } };
          fn.addEventSource(
            new sources.DynamoEventSource(table, {
              startingPosition: lambda.StartingPosition.LATEST,
              batchSize: 100,
              bisectBatchOnError: true,
              retryAttempts: 5,
              maxRecordAge: cdk.Duration.hours(24),
              reportBatchItemFailures: true,
              onFailure: new sources.SqsDlq(streamFailuresDlq),
              filters: [lambda.FilterCriteria.filter({ dynamodb: { NewImage: isOrder } })],
            }),
          );
          break;
        }
        case 'orderQueue':
          fn.addEventSource(new sources.SqsEventSource(orderEventsQueue, { batchSize: 10, reportBatchItemFailures: true }));
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
    });
    const defaultStage = api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
    defaultStage.defaultRouteSettings = { throttlingBurstLimit: 200, throttlingRateLimit: 100 };
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

    new cdk.CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint, description: 'Base URL of the HTTP API' });
    new cdk.CfnOutput(this, 'TableName', { value: cfnTable.ref, description: 'The DynamoDB table' });
    new cdk.CfnOutput(this, 'OrderEventsQueueUrl', { value: orderEventsQueue.queueUrl });
    new cdk.CfnOutput(this, 'OrderEventsDlqUrl', { value: orderEventsDlq.queueUrl });
    new cdk.CfnOutput(this, 'JwtKeysSecretArn', { value: jwtKeysSecret.secretArn });
  }

  private rustFunction(
    spec: FunctionSpec,
    environment: Record<string, string>,
    logLevel: string,
  ): lambda.Function {
    const fn = new RustFunction(this, `${pascal(spec.name)}Function`, {
      manifestPath: path.join(REPO_ROOT, 'functions', spec.name, 'Cargo.toml'),
      binaryName: spec.name,
      architecture: lambda.Architecture.ARM_64,
      description: spec.description,
      memorySize: spec.memorySize ?? 256,
      timeout: cdk.Duration.seconds(spec.timeoutSeconds ?? 10),
      environment,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: logLevel as lambda.ApplicationLogLevel,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
    });
    // tests/infra.rs maps deployed functions to crates by this tag.
    cdk.Tags.of(fn).add('gigmarket:function', spec.name);
    return fn;
  }
}

const pascal = (name: string) =>
  name
    .split(/[^a-zA-Z0-9]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
