/**
 * Mergeable count of distinct visitors (docs/uniques.md): the exact set of visitor hashes while
 * it holds at most EXACT_LIMIT of them, HyperLogLog with 2^14 registers above. The state is a
 * function of the set of hashes added alone, so merging is set union whatever the order or
 * the modes of the two sides, and uniques over any range are merged, never summed.
 */
import { constants, crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

export class InvalidSketch extends Error {
  override readonly name = 'InvalidSketch';
}

/**
 * Visitor keys are HMAC-SHA256 digests, already uniform: the first 40 bits are the hash. 40 bits
 * keep the exact list at 5 bytes a visitor, two of 2,048 visitors share them with odds under
 * 2e-6, and HyperLogLog with 14 index bits and 26 rank bits stays unbiased up to 2^40 visitors.
 */
const HASH_HEX_DIGITS = 10;
const HASH_BYTES = 5;
const PRECISION = 14;
const REGISTERS = 2 ** PRECISION;
const RANK_BITS = 40 - PRECISION;
/** Register value of a hash whose rank bits are all zero (q + 1 in Ertl's notation). */
const MAX_RANK = RANK_BITS + 1;
const RANK_SPACE = 2 ** RANK_BITS;
/**
 * Exact up to 2,048 visitors, past the 2,000 the accuracy goal names: the exact list then takes
 * 10,240 bytes, as much as 16,384 five-bit registers would, and never more.
 */
const EXACT_LIMIT = 2048;

/** Layout: version, mode, body, CRC-32 (big-endian) of everything before it. */
const FORMAT_VERSION = 1;
const MODE_EXACT = 0;
const MODE_DENSE = 1;
const HEADER_BYTES = 2;
const CRC_BYTES = 4;

const VISITOR_KEY = /^[0-9a-f]{64}$/;

type State =
  | { readonly mode: 'exact'; readonly hashes: Set<number> }
  | { readonly mode: 'dense'; readonly registers: Uint8Array };

function raiseRegister(registers: Uint8Array, hash: number): void {
  const index = Math.floor(hash / RANK_SPACE);
  // Leading zeros of the 26 rank bits in a 32-bit word, plus one: 1..27, 27 when all are zero.
  const rank = Math.clz32(hash - index * RANK_SPACE) - (32 - RANK_BITS) + 1;
  if (rank > registers[index]) registers[index] = rank;
}

function denseOf(hashes: Iterable<number>, registers = new Uint8Array(REGISTERS)): State {
  for (const hash of hashes) raiseRegister(registers, hash);
  return { mode: 'dense', registers };
}

/** sigma(x) of Ertl's estimator: the weight of the empty registers (x = their share). */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let power = x;
  let weight = 1;
  let sum = x;
  for (;;) {
    power *= power;
    const previous = sum;
    sum += power * weight;
    weight += weight;
    if (sum === previous) return sum;
  }
}

/** tau(x) of Ertl's estimator: the weight of the saturated registers (1 - x = their share). */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let root = x;
  let weight = 1;
  let sum = 1 - x;
  for (;;) {
    root = Math.sqrt(root);
    const previous = sum;
    weight *= 0.5;
    sum -= (1 - root) ** 2 * weight;
    if (sum === previous) return sum / 3;
  }
}

/**
 * Ertl's improved raw estimator (O. Ertl, "New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017, algorithm 6): nearly unbiased from the smallest to the largest
 * counts, with no empirical bias tables and no switch between linear counting and raw HLL.
 */
function ertlEstimate(registers: Uint8Array): number {
  const histogram = new Array<number>(MAX_RANK + 1).fill(0);
  for (const value of registers) histogram[value] += 1;
  let z = REGISTERS * tau(1 - histogram[MAX_RANK] / REGISTERS);
  for (let rank = RANK_BITS; rank >= 1; rank--) z = 0.5 * (z + histogram[rank]);
  z += REGISTERS * sigma(histogram[0] / REGISTERS);
  return (REGISTERS * REGISTERS) / (2 * Math.LN2 * z);
}

function frame(mode: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + body.length + CRC_BYTES);
  bytes[0] = FORMAT_VERSION;
  bytes[1] = mode;
  bytes.set(body, HEADER_BYTES);
  const crcAt = bytes.length - CRC_BYTES;
  new DataView(bytes.buffer).setUint32(crcAt, crc32(bytes.subarray(0, crcAt)));
  return bytes;
}

function exactBody(hashes: Set<number>): Uint8Array {
  const sorted = Float64Array.from(hashes).sort();
  const body = new Uint8Array(sorted.length * HASH_BYTES);
  const view = new DataView(body.buffer);
  sorted.forEach((hash, i) => {
    view.setUint8(i * HASH_BYTES, Math.floor(hash / 2 ** 32));
    view.setUint32(i * HASH_BYTES + 1, hash >>> 0);
  });
  return body;
}

/** Register bytes, Huffman-coded: under 6 KB at any count, where 5-bit packing takes 10 KB (docs/uniques.md). */
function denseBody(registers: Uint8Array): Uint8Array {
  return deflateRawSync(registers, { strategy: constants.Z_HUFFMAN_ONLY });
}

function parseExact(body: Uint8Array): State {
  if (body.length % HASH_BYTES !== 0 || body.length / HASH_BYTES > EXACT_LIMIT) {
    throw new InvalidSketch(`Exact sketch body of ${body.length} bytes.`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const hashes = new Set<number>();
  let previous = -1;
  for (let at = 0; at < body.length; at += HASH_BYTES) {
    const hash = view.getUint8(at) * 2 ** 32 + view.getUint32(at + 1);
    // Written sorted and unique: anything else was not written by toBytes.
    if (hash <= previous) throw new InvalidSketch('Exact sketch hashes out of order.');
    hashes.add(hash);
    previous = hash;
  }
  return { mode: 'exact', hashes };
}

function parseDense(body: Uint8Array): State {
  let registers: Uint8Array;
  try {
    registers = new Uint8Array(inflateRawSync(body, { maxOutputLength: REGISTERS }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidSketch(`Dense sketch body does not inflate: ${reason}`);
  }
  if (registers.length !== REGISTERS) throw new InvalidSketch(`Dense sketch of ${registers.length} registers.`);
  if (registers.some((value) => value > MAX_RANK)) throw new InvalidSketch('Dense sketch register out of range.');
  return { mode: 'dense', registers };
}

export class VisitorSketch {
  private state: State;

  private constructor(state: State) {
    this.state = state;
  }

  static empty(): VisitorSketch {
    return new VisitorSketch({ mode: 'exact', hashes: new Set() });
  }

  /** Throws InvalidSketch on bytes it did not produce. */
  static fromBytes(bytes: Uint8Array): VisitorSketch {
    if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES + CRC_BYTES) {
      throw new InvalidSketch('Sketch bytes too short.');
    }
    if (bytes[0] !== FORMAT_VERSION) throw new InvalidSketch(`Unknown sketch format version ${bytes[0]}.`);
    const crcAt = bytes.length - CRC_BYTES;
    const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(crcAt);
    if (crc32(bytes.subarray(0, crcAt)) !== stored) throw new InvalidSketch('Sketch checksum mismatch.');
    const body = bytes.subarray(HEADER_BYTES, crcAt);
    switch (bytes[1]) {
      case MODE_EXACT:
        return new VisitorSketch(parseExact(body));
      case MODE_DENSE:
        return new VisitorSketch(parseDense(body));
      default:
        throw new InvalidSketch(`Unknown sketch mode ${bytes[1]}.`);
    }
  }

  /** visitorKey: 64 lower-case hex chars (an HMAC-SHA256). Throws RangeError otherwise. */
  add(visitorKey: string): void {
    if (typeof visitorKey !== 'string' || !VISITOR_KEY.test(visitorKey)) {
      throw new RangeError('A visitor key is 64 lower-case hex characters.');
    }
    this.addHash(parseInt(visitorKey.slice(0, HASH_HEX_DIGITS), 16));
  }

  /** In-place union. */
  merge(other: VisitorSketch): void {
    const source = other.state;
    if (source.mode === 'exact') {
      for (const hash of source.hashes) this.addHash(hash);
    } else if (this.state.mode === 'exact') {
      this.state = denseOf(this.state.hashes, source.registers.slice());
    } else {
      const registers = this.state.registers;
      source.registers.forEach((value, index) => {
        if (value > registers[index]) registers[index] = value;
      });
    }
  }

  /** Integer estimate of distinct visitors (exact while in exact mode). */
  estimate(): number {
    return this.state.mode === 'exact' ? this.state.hashes.size : Math.round(ertlEstimate(this.state.registers));
  }

  toBytes(): Uint8Array {
    return this.state.mode === 'exact'
      ? frame(MODE_EXACT, exactBody(this.state.hashes))
      : frame(MODE_DENSE, denseBody(this.state.registers));
  }

  clone(): VisitorSketch {
    return new VisitorSketch(
      this.state.mode === 'exact'
        ? { mode: 'exact', hashes: new Set(this.state.hashes) }
        : { mode: 'dense', registers: this.state.registers.slice() },
    );
  }

  private addHash(hash: number): void {
    const state = this.state;
    if (state.mode === 'dense') {
      raiseRegister(state.registers, hash);
    } else if (state.hashes.add(hash).size > EXACT_LIMIT) {
      this.state = denseOf(state.hashes);
    }
  }
}
