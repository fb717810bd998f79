// Every cdk-nag AwsSolutions finding this stack accepts, each with its reason.
// Anything not listed here fails `cdk synth` (bin/app.ts) and the tests.
//
// IAM5 (wildcards) is not acknowledged wholesale: an aspect reads each policy
// of our functions and acknowledges only the wildcard resources below, so a new
// `*` anywhere else still fails.
import { Aspects, CfnResource, Stack, Validations, type IAspect } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/** Wildcard resources our own policies may hold, and why each cannot be narrower. */
export const ALLOWED_WILDCARDS: ReadonlyArray<{ pattern: RegExp; reason: string; onlyActions?: RegExp }> = [
  {
    pattern: /^\*$/,
    onlyActions: /^xray:(PutTraceSegments|PutTelemetryRecords)$/,
    reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (AWS docs); added by CDK for active tracing.',
  },
  {
    pattern: /\/templates\/\*$/,
    reason: 'Large templates are stored per prompt and version (templates/{id}/v{n}.hbs); the keys are made at run time, so the grant is the templates/ prefix of one bucket.',
  },
  {
    pattern: /^<StorageCatalog[A-Za-z0-9]+\.Arn>\/catalog\/\*$/,
    onlyActions: /^s3:GetObject$/,
    reason: 'Catalog files are whatever users put under catalog/ (any folder, any name); s3sync reads the one key each S3 notification names, within that prefix of one bucket.',
  },
  {
    pattern: /^<StorageTemplates[A-Za-z0-9]+\.Arn>\/imports\/\*$/,
    onlyActions: /^s3:(GetObject|PutObject|DeleteObject)$/,
    reason: 'Bulk import batches are stored per job and batch (imports/{job}/{n}.json) under a job id made at run time; the grant is the imports/ prefix of the templates bucket.',
  },
  {
    pattern: /:execute-api:.*\/(POST|DELETE)\/@connections\/\*$/,
    reason: 'Connection ids are assigned by API Gateway at run time; the grant is one API, one stage, one method of @connections.',
  },
];

/** A checkov skip for one resource, with its reason, in the template's Metadata. */
export function checkovSkip(scope: IConstruct, id: string, comment: string): void {
  const res = (CfnResource.isCfnResource(scope) ? scope : scope.node.defaultChild) as CfnResource;
  const meta = (res.getMetadata('checkov') as { skip: Array<{ id: string; comment: string }> } | undefined) ?? { skip: [] };
  meta.skip.push({ id, comment });
  res.addMetadata('checkov', meta);
}

const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });

/** The BucketDeployment provider's resources: CDK's asset bucket and the site bucket. */
const DEPLOYMENT_WILDCARDS: typeof ALLOWED_WILDCARDS = [
  { pattern: /^arn:(<AWS::Partition>|aws[a-z-]*):s3:::cdk-[a-z0-9]+-assets-[^/]+\/\*$/, reason: "CDK's BucketDeployment provider reads the UI asset zip from CDK's bootstrap asset bucket (object keys are content hashes)." },
  {
    pattern: /^\*$/,
    onlyActions: /^cloudfront:(CreateInvalidation|GetInvalidation)$/,
    reason: "CDK's BucketDeployment provider invalidates the UI's distribution after an upload; CDK writes this statement on * and offers no way to scope it.",
  },
  { pattern: /^<SiteBucket[A-Za-z0-9]+\.Arn>\/\*$/, reason: "CDK's BucketDeployment provider writes and prunes every object of the site bucket (that is its job)." },
];

class WildcardAcknowledger implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnPolicy)) return;
    const path = node.node.path;
    const rules = path.includes('/Functions/') ? ALLOWED_WILDCARDS : path.includes('/Custom::CDKBucketDeployment') ? DEPLOYMENT_WILDCARDS : [];
    if (!rules.length) return;
    const doc = Stack.of(node).resolve(node.policyDocument);
    for (const st of doc.Statement ?? []) {
      const actions: string[] = [].concat(st.Action);
      for (const r of [].concat(st.Resource).map(flattenCfnReference)) {
        if (!r.includes('*')) continue;
        const rule = rules.find((w) => w.pattern.test(r) && (!w.onlyActions || actions.every((a) => w.onlyActions!.test(a))));
        if (rule) ack(node, `AwsSolutions-IAM5[Resource::${r}]`, rule.reason);
      }
    }
  }
}

export function applySuppressions(stack: Stack): void {
  Aspects.of(stack).add(new WildcardAcknowledger());

  for (const c of stack.node.findAll()) {
    // Routes without a gateway authorizer.
    if (c instanceof apigwv2.CfnRoute) {
      const key = String(stack.resolve(c.routeKey));
      const open = !c.authorizationType || stack.resolve(c.authorizationType) === 'NONE';
      if (!open) continue;
      if (key === '$disconnect' || key === '$default') {
        ack(c, 'AwsSolutions-APIG4', 'API Gateway WebSocket APIs authorize only $connect; $default and $disconnect run on the connection $connect admitted.');
      } else if (key === '$connect') {
        ack(c, 'AwsSolutions-APIG4', 'auth=open (context): an explicitly unauthenticated development stage, documented in infra/README.md; the default is the Lambda REQUEST authorizer.');
      } else if (/^(GET \/health|GET \/health\/live|GET \/openapi\.json|POST \/webhooks\/github)$/.test(key)) {
        ack(c, 'AwsSolutions-APIG4', 'Public by design: health probes and the OpenAPI document hold no data; GitHub webhooks carry an HMAC signature (X-Hub-Signature-256) the handler verifies, not a bearer token.');
      } else {
        ack(c, 'AwsSolutions-APIG4', 'auth=open (context): an explicitly unauthenticated development stack (infra/README.md); with the default auth=authorizer this route has the Lambda authorizer.');
      }
    }
  }

  // The account-wide API Gateway logging role (WebSocket access logs need it).
  const apigwRole = stack.node.tryFindChild('WebSocket')?.node.tryFindChild('ApiGatewayCloudWatchRole');
  if (apigwRole) {
    ack(
      apigwRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level API Gateway CloudWatch role is shared by every API in the account and region; AWS documents this managed policy for it.',
    );
  }

  // CloudFront in front of a static UI on the default *.cloudfront.net certificate.
  const dist = stack.node.tryFindChild('Site')?.node.tryFindChild('Distribution');
  if (dist) {
    ack(dist, 'AwsSolutions-CFR1', 'The web UI is public and holds no data; no country needs blocking.');
    ack(dist, 'AwsSolutions-CFR2', 'A static UI of a few files; WAF (from $5/month + $1/rule) guards nothing the origin exposes. Add one with a custom domain if needed.');
    ack(dist, 'AwsSolutions-CFR4', 'The default *.cloudfront.net certificate fixes the minimum viewer TLS policy; a custom domain with its ACM certificate would allow TLSv1.2_2021.');
  }

  const accessLogs = stack.node.tryFindChild('Storage')?.node.tryFindChild('AccessLogs');
  if (accessLogs) {
    checkovSkip(accessLogs, 'CKV_AWS_18', 'The access-log bucket every other bucket and CloudFront log into; logging it into itself would loop.');
  }

  // CDK's bucket-notifications provider (a singleton Lambda CDK generates to
  // set the catalog bucket's notification configuration at deploy time).
  for (const c of stack.node.children) {
    if (!c.node.id.startsWith('BucketNotificationsHandler')) continue;
    ack(
      c,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "CDK's BucketNotifications provider: aws-cdk-lib writes its role (basic execution + s3:PutBucketNotification); it runs only during deploys.",
    );
  }

  // CDK's own BucketDeployment provider (a singleton Lambda CDK generates).
  for (const c of stack.node.children) {
    if (!c.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    const reasonIam = "CDK's BucketDeployment provider: CDK writes its role (basic execution + asset/site bucket grants); only used during deploys.";
    ack(c, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reasonIam);
    for (const a of ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*']) {
      ack(c, `AwsSolutions-IAM5[Action::${a}]`, `${reasonIam} It copies the UI asset into the site bucket and prunes old files.`);
    }
    const policy = c.node.tryFindChild('ServiceRole')?.node.tryFindChild('DefaultPolicy');
    if (policy) checkovSkip(policy, 'CKV_AWS_111', "CDK's BucketDeployment provider: CloudFront invalidation on * is written by aws-cdk-lib; it runs only during deploys.");
    ack(c, 'AwsSolutions-L1', "CDK's BucketDeployment provider: its Python runtime is chosen by the aws-cdk-lib version, not by this stack.");
  }
}
