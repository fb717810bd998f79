// Synthesizes the stack for the tests with cdk.json's context plus overrides,
// pointed at a dummy bootstrap (the tests check the template, not the binary).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { infraDir, loadConfig } from '../lib/config';
import { McpPromptsStack } from '../lib/stack';

// aws-cdk-lib's built-in CloudFormation validation (a WebAssembly rule engine)
// costs ~10 s per process; test.sh's full synth through bin/app.ts runs it.
process.env.CDK_VALIDATION = 'false';

let dummy: string | undefined;

// Each synth writes a cloud assembly (~25 MB with CDK's BucketDeployment layer): remove them on exit.
const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fake `bootstrap` in a temp dir (or MCP_PROMPTS_LAMBDA_ARTIFACT, set by test.sh). */
export function dummyArtifact(): string {
  if (process.env.MCP_PROMPTS_LAMBDA_ARTIFACT) return process.env.MCP_PROMPTS_LAMBDA_ARTIFACT;
  if (!dummy) {
    const dir = tempDir('mcp-prompts-lambda-');
    dummy = path.join(dir, 'bootstrap');
    fs.writeFileSync(dummy, '#!/bin/sh\necho dummy bootstrap for synth tests\n', { mode: 0o755 });
  }
  return dummy;
}

export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(infraDir(), 'cdk.json'), 'utf8')).context;
}

export interface Synth {
  stack: Stack;
  template: Template;
  json: any;
  /** cdk-nag AwsSolutions findings left after the acknowledgements: `RuleId: logicalId`. */
  nag: string[];
}

const cache = new Map<string, Synth>();

export function synth(context: Record<string, unknown> = {}): Synth {
  const key = JSON.stringify(context);
  const hit = cache.get(key);
  if (hit) return hit;
  const app = new App({
    outdir: tempDir('mcp-prompts-cdk-out-'),
    context: { ...cdkJsonContext(), lambdaArtifact: dummyArtifact(), ...context },
  });
  const stack = new McpPromptsStack(app, 'McpPrompts', {
    config: loadConfig(app.node),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  const template = Template.fromStack(stack);
  // cdk-nag v3 is a validation plugin; validateScope runs the same pack on the tree.
  const report = new AwsSolutionsChecks(app).validateScope(stack);
  const nag = report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath} ${v.description.slice(0, 120)}`),
  );
  const result: Synth = { stack, template, json: template.toJSON(), nag };
  cache.set(key, result);
  return result;
}

/** Resources of one CloudFormation type, as [logicalId, resource] pairs. */
export function resources(s: Synth, type: string): Array<[string, any]> {
  return Object.entries(s.json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
}
