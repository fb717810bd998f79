// Every knob of the stack, read once from CDK context (cdk.json or `-c key=value`)
// and the environment, validated here so the constructs get plain typed values.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node } from 'constructs';

export type AuthMode = 'open' | 'authorizer';

export interface StackConfig {
  /** `authorizer` (default): $connect goes through the Lambda REQUEST authorizer; `open`: no authorizer (dev only). */
  readonly auth: AuthMode;
  /** Identity sources of the REQUEST authorizer (all must be present, else API Gateway answers 401 itself). */
  readonly authIdentitySource: string[];
  /** The OIDC issuer whose JWTs the authorizer accepts besides API keys (e.g. a Cognito user pool), if any. */
  readonly oidc?: { issuer: string; audience: string; jwks: string; roleClaim: string };
  /** `bootstrap` file (its folder is zipped with that file alone) or a ready `.zip`. */
  readonly lambdaArtifact: string;
  /** Name prefix of tables and queues; `mcp-prompts` gives the binary's own defaults. */
  readonly prefix: string;
  /** WebSocket stage name (in the @connections URL and the ManageConnections ARN). */
  readonly stage: string;
  /** `retain` (default) keeps tables and buckets on `cdk destroy`; `destroy` deletes them (dev stacks). */
  readonly removal: 'retain' | 'destroy';
  readonly logRetentionDays: number;
  /** Fan-out: the SQS event source's maximum concurrency (instances), and an optional reserved concurrency. */
  readonly fanoutMaxConcurrency: number;
  readonly fanoutReservedConcurrency?: number;
  readonly fanoutTimeoutSecs: number;
  /** Total PostToConnection calls per second across shard consumers (below the account throttle). */
  readonly postBudget: number;
  /** Shard consumers at once (their reserved concurrency); each paces to postBudget / postConsumers. */
  readonly postConsumers: number;
  /** Connections per shard message. */
  readonly shardSize: number;
  /** Posts in flight per shard consumer. */
  readonly postConcurrency: number;
  readonly wsThrottle: { rateLimit: number; burstLimit: number };
  readonly httpThrottle: { rateLimit: number; burstLimit: number };
  /** An existing SNS topic every alarm notifies (none by default). */
  readonly alarmTopicArn?: string;
  /** Create the account-wide API Gateway CloudWatch role WebSocket access logs need (false when the account has one). */
  readonly apiGatewayAccountRole: boolean;
  readonly historyMaxChanges: number;
  readonly historyMaxAgeSecs: number;
  readonly largeTemplateBytes: number;
  readonly outboxGraceMs: number;
  /** Prompts per bulk import batch (one import-queue message, one `import` run; MCP_PROMPTS_IMPORT_BATCH). */
  readonly importBatch: number;
  /** How long `import_catalog` waits for its job (MCP_PROMPTS_IMPORT_WAIT_SECS): below the websocket/http timeout. */
  readonly importWaitSecs: number;
  /** Static web UI folder deployed to the site bucket. */
  readonly webDir: string;
}

/** The folder holding cdk.json (infra/), whether running from lib/ or dist/lib/. */
export function infraDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'cdk.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cdk.json not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export const DEFAULT_ARTIFACT = path.join('target', 'lambda', 'mcp-prompts-lambda', 'bootstrap');
export const BUILD_SCRIPT = 'scripts/build-lambda.sh';

function str(node: Node, key: string, fallback: string): string {
  const v = node.tryGetContext(key);
  return v === undefined || v === null || v === '' ? fallback : String(v);
}

function int(node: Node, key: string, fallback: number, min = 0): number {
  const raw = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`context ${key} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

function optInt(node: Node, key: string, min: number): number | undefined {
  const raw = node.tryGetContext(key);
  return raw === undefined || raw === null || raw === '' ? undefined : int(node, key, 0, min);
}

function bool(node: Node, key: string, fallback: boolean): boolean {
  const raw = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

function oneOf<T extends string>(node: Node, key: string, allowed: readonly T[], fallback: T): T {
  const v = str(node, key, fallback);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new Error(`context ${key} must be one of ${allowed.join(' | ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/**
 * The prebuilt Lambda artifact: context `lambdaArtifact`, else env
 * `MCP_PROMPTS_LAMBDA_ARTIFACT`, else the repo's cargo-lambda output. The synth
 * never compiles Rust; a missing artifact is a clear error naming the build script.
 */
export function resolveArtifact(node: Node): string {
  const repoRoot = path.dirname(infraDir());
  const given = node.tryGetContext('lambdaArtifact') ?? process.env.MCP_PROMPTS_LAMBDA_ARTIFACT;
  const artifact = given ? path.resolve(String(given)) : path.join(repoRoot, DEFAULT_ARTIFACT);
  if (!fs.existsSync(artifact) || !fs.statSync(artifact).isFile()) {
    throw new Error(
      `Lambda artifact not found: ${artifact}. Build it first with \`bash ${BUILD_SCRIPT}\` ` +
        `(from the repository root; cargo lambda build --release --arm64), or point context ` +
        `lambdaArtifact / env MCP_PROMPTS_LAMBDA_ARTIFACT at a bootstrap file or a zip.`,
    );
  }
  const base = path.basename(artifact);
  if (base !== 'bootstrap' && !base.endsWith('.zip')) {
    throw new Error(`Lambda artifact ${artifact} must be a file named bootstrap (provided.al2023) or a .zip holding one`);
  }
  return artifact;
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function retention(days: number): number {
  if (!RETENTION_DAYS.includes(days)) throw new Error(`context logRetentionDays must be one of ${RETENTION_DAYS.join(', ')}, got ${days}`);
  return days;
}

/**
 * Context oidcIssuer + oidcAudience (+ oidcJwks, default the issuer's
 * `/.well-known/jwks.json`, as Cognito publishes it; oidcRoleClaim, default
 * `cognito:groups`): all or none.
 */
function oidcConfig(node: Node): StackConfig['oidc'] {
  const issuer = node.tryGetContext('oidcIssuer');
  const audience = node.tryGetContext('oidcAudience');
  if (!issuer && !audience) return undefined;
  if (!issuer || !audience) throw new Error('context oidcIssuer and oidcAudience go together');
  if (!/^https:\/\/[^\s]+$/.test(issuer)) throw new Error(`context oidcIssuer ${JSON.stringify(issuer)}: an https:// URL`);
  const jwks = str(node, 'oidcJwks', `${String(issuer).replace(/\/$/, '')}/.well-known/jwks.json`);
  return { issuer, audience, jwks, roleClaim: str(node, 'oidcRoleClaim', 'cognito:groups') };
}

/** The websocket and http functions' timeout (functions.ts SIZING); `import_catalog`'s wait must end inside it. */
export const API_FUNCTION_TIMEOUT_SECS = 10;
/** settings.rs ImportArgs: MCP_PROMPTS_IMPORT_BATCH is 1..=5000. */
export const MAX_IMPORT_BATCH = 5000;

function importBatch(node: Node): number {
  const n = int(node, 'importBatch', 250, 1);
  if (n > MAX_IMPORT_BATCH) throw new Error(`context importBatch must be at most ${MAX_IMPORT_BATCH} (settings.rs), got ${n}`);
  return n;
}

function importWaitSecs(node: Node): number {
  const n = int(node, 'importWaitSecs', 8, 1);
  if (n >= API_FUNCTION_TIMEOUT_SECS) {
    throw new Error(`context importWaitSecs must be below the websocket/http timeout of ${API_FUNCTION_TIMEOUT_SECS} s, got ${n}`);
  }
  return n;
}

export function loadConfig(node: Node): StackConfig {
  const identity = str(node, 'authIdentitySource', 'route.request.header.Authorization')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const source of identity) {
    if (!/^(route\.request\.(header|querystring)\.[A-Za-z0-9._-]+|stageVariables\.[A-Za-z0-9._-]+|context\.[A-Za-z0-9._-]+)$/.test(source)) {
      throw new Error(`context authIdentitySource: ${JSON.stringify(source)} is not an API Gateway identity source`);
    }
  }
  const stage = str(node, 'stage', 'prod');
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stage)) throw new Error(`context stage ${JSON.stringify(stage)}: letters, digits, - and _ only`);
  const prefix = str(node, 'prefix', 'mcp-prompts');
  if (!/^[A-Za-z0-9_.-]{1,60}$/.test(prefix)) throw new Error(`context prefix ${JSON.stringify(prefix)}: letters, digits, - _ . only`);
  return {
    auth: oneOf(node, 'auth', ['open', 'authorizer'] as const, 'authorizer'),
    authIdentitySource: identity,
    oidc: oidcConfig(node),
    lambdaArtifact: resolveArtifact(node),
    prefix,
    stage,
    removal: oneOf(node, 'removal', ['retain', 'destroy'] as const, 'retain'),
    logRetentionDays: retention(int(node, 'logRetentionDays', 30, 1)),
    fanoutMaxConcurrency: int(node, 'fanoutMaxConcurrency', 5, 2),
    fanoutReservedConcurrency: optInt(node, 'fanoutReservedConcurrency', 1),
    fanoutTimeoutSecs: int(node, 'fanoutTimeoutSecs', 60, 1),
    postBudget: int(node, 'postBudget', 5000, 1),
    postConsumers: int(node, 'postConsumers', 2, 2),
    shardSize: int(node, 'shardSize', 1000, 1),
    postConcurrency: int(node, 'postConcurrency', 256, 1),
    wsThrottle: { rateLimit: int(node, 'wsThrottleRate', 500, 1), burstLimit: int(node, 'wsThrottleBurst', 1000, 1) },
    httpThrottle: { rateLimit: int(node, 'httpThrottleRate', 200, 1), burstLimit: int(node, 'httpThrottleBurst', 400, 1) },
    alarmTopicArn: node.tryGetContext('alarmTopicArn') || undefined,
    apiGatewayAccountRole: bool(node, 'apiGatewayAccountRole', true),
    historyMaxChanges: int(node, 'historyMaxChanges', 100000, 1),
    historyMaxAgeSecs: int(node, 'historyMaxAgeSecs', 7 * 24 * 3600, 1),
    largeTemplateBytes: int(node, 'largeTemplateBytes', 64 * 1024, 1),
    outboxGraceMs: int(node, 'outboxGraceMs', 5000, 0),
    importBatch: importBatch(node),
    importWaitSecs: importWaitSecs(node),
    webDir: path.resolve(infraDir(), str(node, 'webDir', path.join('..', 'web'))),
  };
}
