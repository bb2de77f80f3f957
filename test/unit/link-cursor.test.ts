import fc from 'fast-check';
import { decodeLinkCursor, encodeLinkCursor } from '../../lambdas/tables/links';

const code = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const createdAt = fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((date) => date.toISOString());

describe('links page cursors', () => {
  it('give back the page key they were made from', () => {
    fc.assert(fc.property(code, createdAt, (c, at) => expect(decodeLinkCursor(encodeLinkCursor({ code: c, createdAt: at }))).toEqual({ code: c, createdAt: at })));
  });

  it('turn anything a client makes up into null, never an exception or a foreign key', () => {
    const made = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url')),
      fc.tuple(fc.string(), fc.string()).map((pair) => Buffer.from(JSON.stringify(pair)).toString('base64url')),
    );
    fc.assert(
      fc.property(made, (cursor) => {
        const key = decodeLinkCursor(cursor);
        if (key !== null) {
          expect(key.code).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
          expect(key.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
          expect(Object.keys(key).sort()).toEqual(['code', 'createdAt']);
        }
      }),
    );
    const tooLong = encodeLinkCursor({ code: 'a'.repeat(64), createdAt: '2026-12-02T04:00:00.000Z' }).padEnd(257, 'A');
    expect(decodeLinkCursor(tooLong)).toBeNull();
  });
});
