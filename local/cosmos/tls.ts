import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  certPath: string;
  cert: string;
  key: string;
}

// The emulator package ships a certificate that expired in 2021 and names no IP address, so clients
// could only talk to it with verification off. Instead each stack makes its own certificate for
// 127.0.0.1 once, keeps it in the data dir, and clients pin exactly that certificate.
export async function ensureTlsMaterial(dir: string): Promise<TlsMaterial> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    await mkdir(dir, { recursive: true });
    const notBeforeDate = new Date(Date.now() - 24 * 3600_000);
    const pems = await generate([{ name: 'commonName', value: 'batchai-local-cosmos' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + 10 * 365 * 24 * 3600_000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    // Write-then-rename: the stack's readiness probe reads the certificate while the emulator starts.
    await writeFile(`${keyPath}.tmp`, pems.private, { mode: 0o600 });
    await rename(`${keyPath}.tmp`, keyPath);
    await writeFile(`${certPath}.tmp`, pems.cert);
    await rename(`${certPath}.tmp`, certPath);
  }
  return { certPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
}
