#!/usr/bin/env node
/**
 * What `npm test` runs after the type checks: the e2e tier (one local stack at a time,
 * test/serial-runner.js) in one jest process and the unit, infra and integration tiers on one worker in
 * another, at the same time. Jest runs a serial project's suites before or after its worker pool, never
 * beside it, which left a core idle for the e2e tier's whole run: its suites wait on their stack
 * (batching windows, idle reclaim, polling) about half the time. Each line of output is prefixed with its
 * process's tiers; the exit code is non-zero when either process failed.
 *
 * With arguments (`npm test -- test/unit/click.test.ts`), it runs plain jest with them instead.
 */
const { spawn } = require('node:child_process');
const readline = require('node:readline');

const JEST = require.resolve('jest/bin/jest');

/** Runs jest with the arguments, each output line prefixed; resolves with its exit code. */
function runJest(label, args) {
  const child = spawn(process.execPath, [JEST, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    readline.createInterface({ input: stream }).on('line', (line) => out.write(`[${label}] ${line}\n`));
  }
  return {
    child,
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)))),
  };
}

async function main() {
  const extra = process.argv.slice(2);
  if (extra.length > 0) {
    const child = spawn(process.execPath, [JEST, ...extra], { stdio: 'inherit' });
    process.exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    return;
  }
  const runs = [
    runJest('e2e', ['--selectProjects', 'e2e']),
    runJest('unit+infra+integration', ['--selectProjects', 'unit', 'infra', 'integration', '--maxWorkers=1']),
  ];
  const stop = () => runs.forEach(({ child }) => child.kill('SIGINT'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const codes = await Promise.all(runs.map(({ exited }) => exited));
  process.exitCode = codes.find((code) => code !== 0) ?? 0;
}

void main();
