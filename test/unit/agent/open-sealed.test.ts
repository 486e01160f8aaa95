import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { newBootKeys } from '../../../agent/open-sealed.js';
import { sealForNode } from '../../../shared/secrets/seal-for-node.js';

test('a value sealed with sealForNode for a boot opens with that boot key, and only there', () => {
  const boot = newBootKeys();
  const other = newBootKeys();
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (plain) => {
      const sealed = sealForNode(boot.publicKey, plain);
      assert.equal(boot.open(sealed), plain);
      assert.ok(!JSON.stringify(sealed).includes(plain) || plain.length < 4);
      assert.throws(() => other.open(sealed), 'another boot cannot open it');
    }),
    { numRuns: 50 },
  );
});

test('tampering with any part of a sealed value is detected', () => {
  const boot = newBootKeys();
  const sealed = sealForNode(boot.publicKey, 'account-key==');
  const flip = (b64: string) => {
    const buf = Buffer.from(b64, 'base64');
    buf[buf.length - 1] = (buf[buf.length - 1] ?? 0) ^ 1;
    return buf.toString('base64');
  };
  assert.throws(() => boot.open({ ...sealed, ct: flip(sealed.ct) }));
  assert.throws(() => boot.open({ ...sealed, iv: flip(sealed.iv) }));
  assert.throws(() => boot.open({ ...sealed, epk: flip(sealed.epk) }));
  assert.throws(() => boot.open({ ...sealed, alg: 'none' as never }), /unknown sealing algorithm/);
});
