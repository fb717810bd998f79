// The MCP WebSocket endpoint: $connect (REQUEST authorizer unless auth=open),
// $disconnect, $default with a $default route response (the handler's body is
// the reply frame), one stage with throttling and JSON access logs.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StackConfig } from './config';

export class WebSocketEndpoint extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    // Routes are added by addRoutes once the functions exist (their environment
    // needs this API's @connections URL first).
    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: `${config.prefix}-websocket`,
      description: 'mcp-prompts: MCP over WebSocket',
      routeSelectionExpression: '$request.body.action',
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const account = config.apiGatewayAccountRole ? accountLoggingRole(this) : undefined;
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: config.stage,
      autoDeploy: true,
      throttle: config.wsThrottle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            status: '$context.status',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            authorizerError: '$context.authorizer.error',
            error: '$context.error.message',
            ip: '$context.identity.sourceIp',
            time: '$context.requestTimeEpoch',
          }),
        ),
      },
    });
    // The first deploy must set the account's logging role before the stage asks to log.
    if (account) this.stage.node.addDependency(account);
  }

  /** `wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}`. */
  get url(): string {
    return this.stage.url;
  }

  /** `https://...amazonaws.com/{stage}`: MCP_PROMPTS_CONNECTIONS_URL. */
  get connectionsUrl(): string {
    return this.stage.callbackUrl;
  }

  addRoutes(config: StackConfig, handler: IFunction, authorizerFn?: IFunction): void {
    const integration = () => new WebSocketLambdaIntegration('Handler', handler);
    const authorizer =
      config.auth === 'authorizer'
        ? new WebSocketLambdaAuthorizer('ConnectAuthorizer', required(authorizerFn), {
            identitySource: config.authIdentitySource,
          })
        : undefined; // auth=open: anyone may connect (development stacks only; README).
    this.api.addRoute('$connect', { integration: integration(), authorizer });
    this.api.addRoute('$disconnect', { integration: integration() });
    // returnResponse: a `$default` route response, so the handler's body is sent back as the reply.
    this.api.addRoute('$default', { integration: integration(), returnResponse: true });
  }
}

function required(fn?: IFunction): IFunction {
  if (!fn) throw new Error('auth=authorizer needs the authorizer function');
  return fn;
}

/**
 * WebSocket (like REST) access logging needs the account-wide API Gateway
 * CloudWatch role; one per account and region (context apiGatewayAccountRole=false
 * when the account already has one).
 */
function accountLoggingRole(scope: Construct): apigw.CfnAccount {
  const role = new iam.Role(scope, 'ApiGatewayCloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    description: `API Gateway account logging role (${Stack.of(scope).stackName})`,
  });
  const account = new apigw.CfnAccount(scope, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
  // Keep the account setting when the stack goes: other APIs in the account may log through it.
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return account;
}
