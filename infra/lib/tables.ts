// The three DynamoDB tables of schema.ts: on demand (traffic is spiky and small
// at rest), point-in-time recovery, encrypted with the AWS managed key, TTL on
// sessions and connections, and exactly the GSIs the adapters query.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import { CONNECTIONS_TABLE, PROMPTS_TABLE, SESSIONS_TABLE, resourceNames, type KeyAttr, type TableDef } from './schema';

const attr = (k: KeyAttr): dynamodb.Attribute => ({
  name: k.name,
  type: k.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
});

function table(scope: Construct, id: string, name: string, def: TableDef, config: StackConfig): dynamodb.Table {
  const t = new dynamodb.Table(scope, id, {
    tableName: name,
    partitionKey: attr(def.hash),
    sortKey: def.range ? attr(def.range) : undefined,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // AWS managed key (aws/dynamodb): encryption at rest visible in the
    // template, no customer key to pay for or rotate.
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: def.ttl,
    deletionProtection: config.removal === 'retain',
    removalPolicy: config.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  for (const index of def.indexes) {
    // Projection ALL, as `aws bootstrap` creates them: the adapters read whole
    // items from the indexes (the sparse ones hold few items).
    t.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: attr(index.hash),
      sortKey: attr(index.range),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return t;
}

export class Tables extends Construct {
  readonly prompts: dynamodb.Table;
  readonly sessions: dynamodb.Table;
  readonly connections: dynamodb.Table;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const names = resourceNames(config.prefix);
    this.prompts = table(this, 'Prompts', names.promptsTable, PROMPTS_TABLE, config);
    this.sessions = table(this, 'Sessions', names.sessionsTable, SESSIONS_TABLE, config);
    this.connections = table(this, 'Connections', names.connectionsTable, CONNECTIONS_TABLE, config);
  }
}
