#!/usr/bin/env node
// CDK entry: `npx cdk deploy` (cdk.json runs this after tsc). Context keys are
// documented in infra/README.md; cdk-nag's AwsSolutions pack runs on every synth.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config';
import { McpPromptsStack } from '../lib/stack';

const app = new App();
const config = loadConfig(app.node);
new McpPromptsStack(app, app.node.tryGetContext('stackName') ?? 'McpPrompts', {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'mcp-prompts: realtime MCP prompt hub (API Gateway WebSocket + HTTP API, Rust Lambda, DynamoDB, S3, SQS)',
});
// A finding that is not acknowledged (lib/nag-suppressions.ts, each with a reason) fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
