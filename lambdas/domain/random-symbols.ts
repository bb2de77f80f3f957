/** Random text over an alphabet, for short codes and API keys. */

/**
 * `length` symbols of the alphabet, each equally likely: bytes at or past the last whole multiple of
 * the alphabet's size are skipped. randomBytes is node:crypto's in production, injected so tests can drive it.
 */
export function randomSymbols(alphabet: string, length: number, randomBytes: (n: number) => Uint8Array): string {
  const limit = 256 - (256 % alphabet.length);
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length - text.length)) {
      if (byte < limit && text.length < length) text += alphabet[byte % alphabet.length];
    }
  }
  return text;
}
