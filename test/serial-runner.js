/**
 * Jest's own runner (jest-runner, which jest installs), marked serial: the suites of a project
 * that uses it run one at a time in the main process, before or after the other projects' suites
 * have run in the worker pool, never beside them. The e2e tier uses it: each of its suites runs a
 * whole local stack (DynamoDB Local, fauxqs, Lambda execution environments as processes), and
 * some push thousands of clicks through it or measure timings; two at once on a two-core machine
 * gain little and make those suites unreliable.
 */
const TestRunner = require('jest-runner').default;

class SerialTestRunner extends TestRunner {
  isSerial = true;
}

module.exports = SerialTestRunner;
