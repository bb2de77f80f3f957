/**
 * Four tiers, one command (`npm test`, or `npx jest`):
 * - unit: pure domain and local-stack logic, in-process;
 * - infra: the CDK template, cdk-nag, real bundling;
 * - integration: handlers and local-stack components (pollers, provisioning, emulators, the
 *   Lambda runtime) run directly against DynamoDB Local, fauxqs or real child processes;
 * - e2e: `npm start` as a child process, driven over HTTP.
 */
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
  projects: [tier('unit'), tier('infra'), tier('integration'), tier('e2e')],
};
