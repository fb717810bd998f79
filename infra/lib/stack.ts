// The whole AWS column in one stack: data (tables, queue, buckets), the two
// APIs and their functions, the web UI, and operations.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import { Functions } from './functions';
import { HttpEndpoint } from './http-api';
import { Monitoring } from './monitoring';
import { applySuppressions } from './nag-suppressions';
import { grantHandlers } from './permissions';
import { Queues } from './queues';
import { Site } from './site';
import { Storage } from './storage';
import { Tables } from './tables';
import { Triggers } from './triggers';
import { WebSocketEndpoint } from './websocket-api';

export interface McpPromptsStackProps extends StackProps {
  readonly config: StackConfig;
}

export class McpPromptsStack extends Stack {
  readonly config: StackConfig;

  constructor(scope: Construct, id: string, props: McpPromptsStackProps) {
    super(scope, id, props);
    const config = (this.config = props.config);
    const tables = new Tables(this, 'Tables', config);
    const queues = new Queues(this, 'Queues', config);
    const storage = new Storage(this, 'Storage', config);
    const ws = new WebSocketEndpoint(this, 'WebSocket', config);
    const functions = new Functions(this, 'Functions', {
      config,
      tables,
      queues,
      storage,
      connectionsUrl: ws.connectionsUrl,
    });
    ws.addRoutes(config, functions.get('websocket'), functions.byHandler.authorizer);
    const http = new HttpEndpoint(this, 'Http', config, functions.get('http'), functions.byHandler.authorizer);
    grantHandlers(this, { functions, tables, queues, storage, webSocketApiId: ws.api.apiId, stage: config.stage });
    new Triggers(this, 'Triggers', config, functions, queues);
    storage.notifyCatalogChanges(queues.catalogEvents);
    const site = new Site(this, 'Site', config, storage.accessLogs);
    new Monitoring(this, 'Monitoring', {
      config,
      functions,
      queues,
      webSocketApi: ws.api,
      webSocketStage: config.stage,
      httpApi: http.api,
    });

    new CfnOutput(this, 'WebSocketUrl', { value: ws.url, description: 'MCP over WebSocket (subprotocol mcp)' });
    new CfnOutput(this, 'ConnectionsUrl', { value: ws.connectionsUrl, description: 'The @connections endpoint (MCP_PROMPTS_CONNECTIONS_URL)' });
    new CfnOutput(this, 'HttpUrl', { value: http.url, description: 'HTTP API: /prompts, /mcp, /health, /openapi.json' });
    new CfnOutput(this, 'UiUrl', { value: site.url, description: 'Web UI (CloudFront)' });
    // For seeding the catalog and for local tools pointed at the deployed resources (README).
    new CfnOutput(this, 'PromptsTable', { value: tables.prompts.tableName });
    new CfnOutput(this, 'SessionsTable', { value: tables.sessions.tableName });
    new CfnOutput(this, 'ConnectionsTable', { value: tables.connections.tableName });
    new CfnOutput(this, 'TemplatesBucket', { value: storage.templates.bucketName });
    new CfnOutput(this, 'ChangeQueueUrl', { value: queues.changes.queueUrl });
    new CfnOutput(this, 'ImportQueueUrl', { value: queues.imports.queueUrl, description: 'Bulk import batches (MCP_PROMPTS_IMPORT_QUEUE_URL)' });
    new CfnOutput(this, 'WebhookQueueUrl', { value: queues.webhooks.queueUrl, description: 'Webhook delivery nudges (MCP_PROMPTS_WEBHOOK_QUEUE_URL)' });
    new CfnOutput(this, 'CatalogBucket', { value: storage.catalog.bucketName, description: 'Catalog files under catalog/: synced into the store on every change (s3sync)' });
    new CfnOutput(this, 'DashboardName', { value: `${config.prefix}-ops` });
    new CfnOutput(this, 'AuthMode', { value: config.auth, description: 'WebSocket $connect: authorizer or open' });

    applySuppressions(this);
  }
}
