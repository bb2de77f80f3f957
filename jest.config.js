/** Three tiers, one command: unit (pure domain), infra (CDK template + cdk-nag), e2e (local stack over HTTP). */
const tier = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  roots: [`<rootDir>/test/${name}`],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [tier('unit'), tier('infra'), tier('e2e')],
};
