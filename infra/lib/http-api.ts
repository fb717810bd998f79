// The HTTP API (payload format 2.0) in front of the `http` handler: REST
// endpoints, OpenAPI, health, metrics, the GitHub webhook and Streamable HTTP
// MCP. One $default stage with throttling and JSON access logs.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StackConfig } from './config';

const M = apigwv2.HttpMethod;

/**
 * Every path the http handler serves, with its methods. `public` routes skip
 * the gateway authorizer even with auth=authorizer: probes and the OpenAPI
 * document carry no data, and GitHub cannot send a bearer token (the handler
 * verifies the webhook's X-Hub-Signature-256 HMAC instead).
 */
export const HTTP_ROUTES: ReadonlyArray<{ path: string; methods: apigwv2.HttpMethod[]; public?: boolean }> = [
  { path: '/prompts', methods: [M.GET, M.POST] },
  { path: '/prompts/{proxy+}', methods: [M.GET, M.POST, M.PUT, M.PATCH, M.DELETE] },
  { path: '/openapi.json', methods: [M.GET], public: true },
  { path: '/health', methods: [M.GET], public: true },
  { path: '/health/live', methods: [M.GET], public: true },
  { path: '/metrics', methods: [M.GET] },
  { path: '/webhooks/github', methods: [M.POST], public: true },
  // Streamable HTTP: POST messages, GET the SSE stream, DELETE ends the session.
  { path: '/mcp', methods: [M.GET, M.POST, M.DELETE] },
];

export class HttpEndpoint extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, config: StackConfig, handler: IFunction, authorizerFn?: IFunction) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${config.prefix}-http`,
      description: 'mcp-prompts: REST, OpenAPI, health, metrics, webhooks, Streamable HTTP MCP',
      // Own stage below: the default one cannot take throttling or access logs.
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('Handler', handler, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    // auth=authorizer: the same authorizer function, HTTP API "simple" responses
    // ({isAuthorized}), cached 5 minutes per Authorization header.
    const authorizer =
      config.auth === 'authorizer' && authorizerFn
        ? new HttpLambdaAuthorizer('HttpAuthorizer', authorizerFn, {
            responseTypes: [HttpLambdaResponseType.SIMPLE],
            identitySource: ['$request.header.Authorization'],
            resultsCacheTtl: Duration.minutes(5),
          })
        : undefined;
    for (const route of HTTP_ROUTES) {
      this.api.addRoutes({
        path: route.path,
        methods: route.methods,
        integration,
        authorizer: route.public ? undefined : authorizer,
      });
    }
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: config.httpThrottle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            routeKey: '$context.routeKey',
            status: '$context.status',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            responseLatency: '$context.responseLatency',
            error: '$context.integrationErrorMessage',
            ip: '$context.identity.sourceIp',
            time: '$context.requestTimeEpoch',
          }),
        ),
      },
    });
  }

  get url(): string {
    return this.stage.url;
  }
}
