import path from 'node:path';
import { functionDefinitions } from '../../local/lambda/functions';
import type { CfnTemplate } from '../../local/types';

const fn = (asset: string) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'aws:asset:path': asset },
  Properties: { Handler: 'index.handler', Timeout: 10, MemorySize: 256 },
});

describe('functionDefinitions', () => {
  it('runs the functions something invokes at run time, not the custom-resource providers CloudFormation invokes while deploying', () => {
    const template: CfnTemplate = {
      Resources: {
        ApiFunction: fn('asset.api'),
        DeployFunction: fn('asset.deploy'),
        SiteDeployment: { Type: 'Custom::CDKBucketDeployment', Properties: { ServiceToken: { 'Fn::GetAtt': ['DeployFunction', 'Arn'] } } },
      },
    };
    expect(functionDefinitions(template, {}, '/assembly')).toEqual([
      {
        logicalId: 'ApiFunction',
        codeDir: path.resolve('/assembly', 'asset.api'),
        handler: 'index.handler',
        timeoutSeconds: 10,
        memoryMb: 256,
        reservedConcurrency: undefined,
        environment: {},
      },
    ]);
  });
});
