import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '../../../shared/config/well-known-emulator-credentials.js';
import { DownloadSigner } from '../../../shared/outputs/download-links.js';
import { LocationOutputFileLister } from '../../../shared/outputs/location-output-files.js';
import { blobClient, startTestStack, type TestStack } from '../../support/stack.js';

// Output-file links are handed to whoever may read the job: each must open exactly one blob, for reading only,
// for a short time.

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ services: ['azurite'] });
});
after(() => stack?.dispose());

test('a download link is a SAS for that one blob, read-only, expiring when asked', async () => {
  const container = blobClient(stack.descriptor).getContainerClient('job-outputs');
  await container.createIfNotExists();
  for (const name of ['root/MODEL/model.bin', 'root/MODEL/other.bin', 'root/SECRET/keys.txt']) {
    await container.getBlockBlobClient(name).upload('data', 4);
  }
  const lister = new LocationOutputFileLister({
    local: true,
    blobEndpointFor: () => stack.descriptor.storage.blobEndpoint,
    signer: new DownloadSigner(Buffer.alloc(32, 7)),
    now: () => new Date(),
  });
  const before = Date.now();
  const { items } = await lister.list({
    location: {
      kind: 'azureBlob',
      accountName: AZURITE_ACCOUNT_NAME,
      containerName: 'job-outputs',
      prefix: 'root/MODEL/',
    },
    accountKey: AZURITE_ACCOUNT_KEY,
    directory: '.',
    linkExpiryMinutes: 5,
    maxResults: 10,
    baseUrl: 'http://127.0.0.1/api',
  });
  const file = items.find((i) => i.name === 'model.bin');
  assert.ok(file?.downloadUrl, JSON.stringify(items));
  const url = new URL(file.downloadUrl);
  assert.equal(url.searchParams.get('sr'), 'b', 'scoped to one blob');
  assert.equal(url.searchParams.get('sp'), 'r', 'read-only');
  const expires = Date.parse(url.searchParams.get('se') ?? '');
  assert.ok(expires <= before + 5 * 60_000 + 60_000 && expires > before, `expires at ${url.searchParams.get('se')}`);

  // It reads that blob...
  const read = await fetch(url);
  assert.equal(read.status, 200);
  assert.equal(await read.text(), 'data');
  // ...and nothing else: not another blob with the same signature, not a write, not a listing.
  const other = new URL(url);
  other.pathname = other.pathname.replace('MODEL/model.bin', 'SECRET/keys.txt');
  assert.equal((await fetch(other)).status, 403);
  const write = await fetch(url, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'evil' });
  assert.equal(write.status, 403);
  const list = new URL(url);
  list.pathname = list.pathname.replace(/\/root\/.*$/, '');
  list.searchParams.set('restype', 'container');
  list.searchParams.set('comp', 'list');
  assert.equal((await fetch(list)).status, 403);
});
