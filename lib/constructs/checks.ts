/** Checks of construct properties, done at synth so a bad value fails `cdk synth` and names itself. */

/** `value` when it is an integer from `min` to `max`; otherwise an error naming the property. */
export function integerInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
