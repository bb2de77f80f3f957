/**
 * Accuracy, size and speed of the visitor sketch on synthetic visitor keys (docs/uniques.md):
 * `node --import tsx bench/uniques.ts`, or `runUniquesBench()` from bench/run.ts.
 */
import { VisitorSketch } from '../lambdas/domain/visitor-sketch';
import { seededRandom } from '../test/fixtures/synthetic-traffic';

/** An HMAC-SHA256 digest: 32 bytes, 64 hex digits. */
const KEY_BYTES = 32;
const MILLION = 1_000_000;
const ACCURACY_SEEDS = [1, 2, 3, 4, 5];
const SMALL_SET_SEEDS = [1, 2, 3];
const SMALL_SET_MAX = 2000;
const SIZE_CHECKPOINTS = [0, 10, 1_000, 2_048, 2_049, 10_000, 100_000, MILLION];

/**
 * `count` visitor keys as the redirect makes them (64 hex digits, uniform), repeatable per seed.
 * Distinct in practice: two of a million share their first 64 bits with odds under 1e-7.
 */
export function syntheticVisitorKeys(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const words = new Uint32Array(count * (KEY_BYTES / 4));
  for (let i = 0; i < words.length; i++) words[i] = random() * 2 ** 32;
  const bytes = Buffer.from(words.buffer);
  return Array.from({ length: count }, (_, i) => bytes.toString('hex', i * KEY_BYTES, (i + 1) * KEY_BYTES));
}

const percent = (estimate: number, truth: number): string => `${(((estimate - truth) / truth) * 100).toFixed(2)}%`;
const grouped = (value: number): string => Math.round(value).toLocaleString('en-US');

function microseconds(repeat: number, op: () => unknown): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) op();
  return Number(process.hrtime.bigint() - started) / 1000 / repeat;
}

/** Error at a million distinct visitors per seed, add throughput, bytes at each checkpoint of the first seed. */
function accuracyAndSize(lines: string[]): VisitorSketch {
  const errors: string[] = [];
  const sizes: string[] = [];
  let worst = 0;
  let addNanoseconds = 0n;
  let firstSeed = VisitorSketch.empty();
  for (const seed of ACCURACY_SEEDS) {
    const keys = syntheticVisitorKeys(MILLION, seed);
    const sketch = VisitorSketch.empty();
    let added = 0;
    for (const checkpoint of SIZE_CHECKPOINTS) {
      const started = process.hrtime.bigint();
      for (; added < checkpoint; added++) sketch.add(keys[added]);
      addNanoseconds += process.hrtime.bigint() - started;
      if (seed === ACCURACY_SEEDS[0]) sizes.push(`${grouped(checkpoint)}: ${grouped(sketch.toBytes().length)} B`);
    }
    worst = Math.max(worst, Math.abs(sketch.estimate() - MILLION) / MILLION);
    errors.push(`seed ${seed} ${percent(sketch.estimate(), MILLION)}`);
    if (seed === ACCURACY_SEEDS[0]) firstSeed = sketch;
  }
  lines.push(`1,000,000 distinct visitors: ${errors.join(', ')} (worst ${(worst * 100).toFixed(2)}%, goal 2%)`);
  lines.push(`serialised bytes by distinct visitors: ${sizes.join(', ')}`);
  lines.push(`add: ${grouped((ACCURACY_SEEDS.length * MILLION * 1e9) / Number(addNanoseconds))} keys/s`);
  return firstSeed;
}

/** |estimate - n| after each add, n = 1..2000, for a few seeds. */
function smallSets(lines: string[]): void {
  let worst = 0;
  let offByMoreThanOne = 0;
  for (const seed of SMALL_SET_SEEDS) {
    const sketch = VisitorSketch.empty();
    syntheticVisitorKeys(SMALL_SET_MAX, seed).forEach((key, i) => {
      sketch.add(key);
      const error = Math.abs(sketch.estimate() - (i + 1));
      worst = Math.max(worst, error);
      if (error > 1) offByMoreThanOne += 1;
    });
  }
  const sets = `small sets 1..${SMALL_SET_MAX} (${SMALL_SET_SEEDS.length} seeds)`;
  lines.push(`${sets}: ${offByMoreThanOne} sizes off by more than 1, worst |error| ${worst}`);
}

function sketchOf(keys: readonly string[]): VisitorSketch {
  const sketch = VisitorSketch.empty();
  for (const key of keys) sketch.add(key);
  return sketch;
}

function costs(lines: string[], dense: VisitorSketch): void {
  const other = sketchOf(syntheticVisitorKeys(100_000, 99));
  const bytes = dense.toBytes();
  const exact = sketchOf(syntheticVisitorKeys(2_000, 98));
  const exactBytes = exact.toBytes();
  const timings = [
    `dense merge ${microseconds(200, () => dense.clone().merge(other)).toFixed(0)} µs (clone included)`,
    `dense toBytes ${microseconds(200, () => dense.toBytes()).toFixed(0)} µs`,
    `dense fromBytes ${microseconds(200, () => VisitorSketch.fromBytes(bytes)).toFixed(0)} µs`,
    `dense estimate ${microseconds(200, () => dense.estimate()).toFixed(0)} µs`,
    `exact(2,000) toBytes ${microseconds(200, () => exact.toBytes()).toFixed(0)} µs`,
    `exact(2,000) fromBytes ${microseconds(200, () => VisitorSketch.fromBytes(exactBytes)).toFixed(0)} µs`,
  ];
  lines.push(`per operation: ${timings.join(', ')}`);
}

export async function runUniquesBench(): Promise<string[]> {
  const lines = ['Visitor sketch (HyperLogLog p=14 above 2,048 exact visitors; docs/uniques.md)'];
  const dense = accuracyAndSize(lines);
  smallSets(lines);
  costs(lines, dense);
  return lines;
}

if (require.main === module) {
  runUniquesBench().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
