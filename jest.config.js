/**
 * Four tiers, one command (`npm test`, or `npx jest`):
 * - unit: pure domain and local-stack logic, in-process;
 * - infra: the CDK template, cdk-nag, real bundling;
 * - integration: handlers and local-stack components (pollers, provisioning, emulators, the
 *   Lambda runtime) run directly against DynamoDB Local, fauxqs or real child processes;
 * - e2e: `npm start` as a child process, driven over HTTP.
 * The first three run in parallel, one worker per core (each suite starts its own emulators). e2e
 * runs apart from them, one suite at a time (test/serial-runner.js): each suite is a whole local
 * stack, and some measure timings.
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
  // Jest's default leaves one core idle (cores - 1): one worker on a two-core CI machine.
  maxWorkers: '100%',
  projects: [
    tier('unit'),
    tier('infra'),
    tier('integration'),
    tier('e2e', {
      runner: '<rootDir>/test/serial-runner.js',
      // Hooks without a timeout of their own: a local stack's clean stop can take longer than 5 s under load.
      testTimeout: 60_000,
    }),
  ],
};
