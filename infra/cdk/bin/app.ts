#!/usr/bin/env node
/**
 * The Gigmarket CDK app: `npm run deploy -- -c stage=prod --parameters SenderEmail=...`.
 *
 * GIGMARKET_SKIP_BUNDLING=1 synthesises without building the Rust functions (no cargo-lambda or
 * zig needed): what `make test` does to check the app offline.
 */
import * as cdk from 'aws-cdk-lib';

import { GigmarketStack } from '../lib/gigmarket-stack';

const skipBundling = process.env.GIGMARKET_SKIP_BUNDLING === '1';
// The CLI refuses `-c aws:cdk:bundling-stacks=[]`; setting it from the app works.
const app = new cdk.App({ postCliContext: { 'aws:cdk:bundling-stacks': skipBundling ? [] : ['**'] } });
const stage: string = app.node.tryGetContext('stage') ?? 'dev';
if (!/^[a-z][a-z0-9-]{0,15}$/.test(stage)) {
  throw new Error(`stage ${JSON.stringify(stage)} must match ^[a-z][a-z0-9-]{0,15}$`);
}
new GigmarketStack(app, `Gigmarket-${stage}`, {
  stage,
  description: 'Gigmarket: Rust Lambda functions, HTTP API, DynamoDB table, order events, SES',
});
