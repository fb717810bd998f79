// API Gateway: the WebSocket API (routes, $default route response, $connect
// authorizer or the explicit open flag, stage throttling and access logs) and
// the HTTP API (payload 2.0, every REST path, its stage).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Match } from 'aws-cdk-lib/assertions';
import { HTTP_ROUTES } from '../lib/http-api';
import { resources, synth } from './synth';

const api = (s: ReturnType<typeof synth>, protocol: 'WEBSOCKET' | 'HTTP') =>
  resources(s, 'AWS::ApiGatewayV2::Api').find(([, a]) => a.Properties.ProtocolType === protocol)!;
const routes = (s: ReturnType<typeof synth>, apiId: string) =>
  Object.fromEntries(resources(s, 'AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.ApiId.Ref === apiId).map(([id, r]) => [r.Properties.RouteKey, { id, ...r }])) as Record<string, any>;
const fnId = (s: ReturnType<typeof synth>, handler: string) =>
  resources(s, 'AWS::Lambda::Function').find(([, f]) => f.Properties.Environment?.Variables?.MCP_PROMPTS_HANDLER === handler)?.[0];
const integrationTarget = (s: ReturnType<typeof synth>, route: any) => {
  const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref;
  return s.json.Resources[integrationId];
};

test('WebSocket API: $connect, $disconnect, $default, all to the websocket function', () => {
  const s = synth();
  const [wsId] = api(s, 'WEBSOCKET');
  const r = routes(s, wsId);
  assert.deepEqual(Object.keys(r).sort(), ['$connect', '$default', '$disconnect']);
  for (const key of Object.keys(r)) {
    const integration = integrationTarget(s, r[key]);
    assert.equal(integration.Properties.IntegrationType, 'AWS_PROXY', key);
    assert.match(JSON.stringify(integration.Properties.IntegrationUri), new RegExp(fnId(s, 'websocket')!), key);
  }
});

test('$default has a $default route response, so the handler body is the reply', () => {
  const s = synth();
  const [wsId] = api(s, 'WEBSOCKET');
  const r = routes(s, wsId);
  assert.equal(r.$default.Properties.RouteResponseSelectionExpression, '$default');
  s.template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
    ApiId: { Ref: wsId },
    RouteId: { Ref: r.$default.id },
    RouteResponseKey: '$default',
  });
  s.template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 1);
});

test('auth=authorizer (default): $connect has a REQUEST authorizer on the authorizer function', () => {
  const s = synth();
  const [wsId] = api(s, 'WEBSOCKET');
  const r = routes(s, wsId);
  assert.equal(r.$connect.Properties.AuthorizationType, 'CUSTOM');
  const authorizerId = r.$connect.Properties.AuthorizerId.Ref;
  const a = s.json.Resources[authorizerId];
  assert.equal(a.Properties.AuthorizerType, 'REQUEST');
  assert.deepEqual(a.Properties.IdentitySource, ['route.request.header.Authorization']);
  assert.match(JSON.stringify(a.Properties.AuthorizerUri), new RegExp(fnId(s, 'authorizer')!));
  assert.equal(r.$default.Properties.AuthorizationType ?? 'NONE', 'NONE');
  s.template.hasResourceProperties('AWS::Lambda::Permission', {
    Principal: 'apigateway.amazonaws.com',
    FunctionName: { 'Fn::GetAtt': [fnId(s, 'authorizer'), 'Arn'] },
  });
});

test('authIdentitySource context: e.g. the query string token for browsers', () => {
  const s = synth({ authIdentitySource: 'route.request.querystring.token' });
  const a = resources(s, 'AWS::ApiGatewayV2::Authorizer').find(([, x]) => x.Properties.AuthorizerType === 'REQUEST')!;
  assert.deepEqual(a[1].Properties.IdentitySource, ['route.request.querystring.token']);
  assert.throws(() => synth({ authIdentitySource: 'header.Authorization' }), /not an API Gateway identity source/);
  assert.throws(() => synth({ auth: 'none' }), /auth must be one of open \| authorizer/);
});

test('auth=open: no authorizer anywhere, no authorizer function', () => {
  const s = synth({ auth: 'open' });
  s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  assert.equal(fnId(s, 'authorizer'), undefined);
  for (const [, r] of resources(s, 'AWS::ApiGatewayV2::Route')) {
    assert.equal(r.Properties.AuthorizationType ?? 'NONE', 'NONE', r.Properties.RouteKey);
  }
  assert.equal(s.json.Outputs.AuthMode.Value, 'open');
});

test('WebSocket stage: named, auto-deployed, throttled, JSON access logs with a retention', () => {
  const s = synth();
  const [wsId] = api(s, 'WEBSOCKET');
  const [, stage] = resources(s, 'AWS::ApiGatewayV2::Stage').find(([, st]) => st.Properties.ApiId.Ref === wsId)!;
  assert.equal(stage.Properties.StageName, 'prod');
  assert.equal(stage.Properties.AutoDeploy, true);
  assert.deepEqual(stage.Properties.DefaultRouteSettings, { ThrottlingBurstLimit: 1000, ThrottlingRateLimit: 500, DetailedMetricsEnabled: true });
  const logId = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
  assert.equal(s.json.Resources[logId].Properties.RetentionInDays, 30);
  const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
  assert.equal(format.requestId, '$context.requestId');
  assert.equal(format.connectionId, '$context.connectionId');
  // The account's API Gateway logging role, set before the stage (WebSocket logging needs it).
  const [accountId] = resources(s, 'AWS::ApiGateway::Account')[0];
  assert.ok(([] as string[]).concat(resources(s, 'AWS::ApiGatewayV2::Stage').find(([, st]) => st.Properties.ApiId.Ref === wsId)![1].DependsOn ?? []).includes(accountId));
  const t = synth({ wsThrottleRate: 50, wsThrottleBurst: 100, stage: 'dev', apiGatewayAccountRole: false });
  t.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'dev', DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }) });
  t.template.resourceCountIs('AWS::ApiGateway::Account', 0);
});

test('HTTP API: payload 2.0, every REST path to the http function', () => {
  const s = synth();
  const [httpId] = api(s, 'HTTP');
  const r = routes(s, httpId);
  const want = HTTP_ROUTES.flatMap((x) => x.methods.map((m) => `${m} ${x.path}`)).sort();
  assert.deepEqual(Object.keys(r).sort(), want);
  for (const p of ['/prompts', '/prompts/{proxy+}', '/openapi.json', '/health', '/health/live', '/metrics', '/webhooks/github', '/mcp']) {
    assert.ok(Object.keys(r).some((k) => k.endsWith(` ${p}`)), p);
  }
  for (const key of Object.keys(r)) {
    const integration = integrationTarget(s, r[key]);
    assert.equal(integration.Properties.PayloadFormatVersion, '2.0', key);
    assert.equal(integration.Properties.IntegrationType, 'AWS_PROXY', key);
    assert.match(JSON.stringify(integration.Properties.IntegrationUri), new RegExp(fnId(s, 'http')!), key);
  }
});

test('HTTP API: the authorizer guards data routes; probes, OpenAPI and the signed webhook are public; open mode has none', () => {
  const s = synth();
  const [httpId] = api(s, 'HTTP');
  const r = routes(s, httpId);
  const publicKeys = ['GET /health', 'GET /health/live', 'GET /openapi.json', 'POST /webhooks/github'];
  for (const [key, route] of Object.entries(r)) {
    const type = route.Properties.AuthorizationType ?? 'NONE';
    assert.equal(type, publicKeys.includes(key) ? 'NONE' : 'CUSTOM', key);
  }
  const [, a] = resources(s, 'AWS::ApiGatewayV2::Authorizer').find(([, x]) => x.Properties.ApiId.Ref === httpId)!;
  assert.equal(a.Properties.AuthorizerPayloadFormatVersion, '2.0');
  assert.equal(a.Properties.EnableSimpleResponses, true);
  assert.match(JSON.stringify(a.Properties.AuthorizerUri), new RegExp(fnId(s, 'authorizer')!));
});

test('HTTP stage: $default, throttled, JSON access logs', () => {
  const s = synth();
  const [httpId] = api(s, 'HTTP');
  const [, stage] = resources(s, 'AWS::ApiGatewayV2::Stage').find(([, st]) => st.Properties.ApiId.Ref === httpId)!;
  assert.equal(stage.Properties.StageName, '$default');
  assert.equal(stage.Properties.AutoDeploy, true);
  assert.deepEqual(stage.Properties.DefaultRouteSettings, { ThrottlingBurstLimit: 400, ThrottlingRateLimit: 200 });
  assert.ok(stage.Properties.AccessLogSettings.DestinationArn);
  assert.equal(JSON.parse(stage.Properties.AccessLogSettings.Format).requestId, '$context.requestId');
});
