import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SecretRedactor } from '../../../shared/secrets/redactor.js';
import { SecretBox } from '../../../shared/secrets/secret-box.js';

test('values the box sealed or opened are redacted from later log lines', () => {
  const redactor = new SecretRedactor();
  const box = new SecretBox(randomBytes(32), (plain) => redactor.remember(plain));
  const sealed = box.seal('hunter2-password');
  assert.equal(redactor.redact('login with hunter2-password failed'), 'login with *** failed');
  const other = new SecretBox(randomBytes(32));
  const opened = new SecretBox(randomBytes(32), (p) => redactor.remember(p));
  assert.throws(() => opened.open(other.seal('never-seen')));
  assert.equal(redactor.redact('never-seen'), 'never-seen', 'only values it handled');
  assert.ok(!redactor.redact(`stored ${sealed}`).includes(sealed.slice(20)), 'sealed values are shortened too');
});

test('credential-shaped text is redacted whatever its source', () => {
  const redactor = new SecretRedactor();
  const cases: Array<[string, string]> = [
    ['DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc123==;', 'abc123=='],
    ['https://a.blob.core.windows.net/c/b?sv=2020&sig=SiGnAtUrE%3D&se=1', 'SiGnAtUrE%3D'],
    ['GET /api/x?code=functionkey123', 'functionkey123'],
    ['Authorization: Bearer abcdefghijklmnop.qrstuvwx', 'abcdefghijklmnop'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0'],
    ['{"name":"X","value":"env-secret-1"}', 'env-secret-1'],
    ['{"credentials":{"accountKey":"k3y-value"}}', 'k3y-value'],
  ];
  for (const [line, secret] of cases) {
    const out = redactor.redact(line);
    assert.ok(!out.includes(secret), `${line} → ${out}`);
  }
});

test('errors and objects are redacted by message, stack and JSON', () => {
  const redactor = new SecretRedactor();
  redactor.remember('s3cret-in-error');
  const err = redactor.redactValue(new Error('bad s3cret-in-error')) as Error;
  assert.equal(err.message, 'bad ***');
  assert.ok(!err.stack?.includes('s3cret-in-error'));
  assert.deepEqual(redactor.redactValue({ note: 'x s3cret-in-error' }), { note: 'x ***' });
  assert.equal(redactor.redactValue(42), 42);
});
