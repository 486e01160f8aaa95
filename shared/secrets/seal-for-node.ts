import {
  createCipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import { SEALED_FOR_NODE_ALG, SEALED_FOR_NODE_HKDF_INFO, type SealedForNode } from '../domain/agent-protocol.js';

/**
 * Seals one secret value for one boot of one node: an ephemeral X25519 key agreement with the public key the
 * agent registered, HKDF-SHA256 (salt: the recipient's key) to an AES-256-GCM key. Only the agent holding the
 * private key can open it, so the command queue, its poison queue and any log hold ciphertext only.
 */
export function sealForNode(recipientPublicKeyB64: string, plain: string): SealedForNode {
  const recipientDer = Buffer.from(recipientPublicKeyB64, 'base64');
  const recipient = createPublicKey({ key: recipientDer, format: 'der', type: 'spki' });
  const ephemeral = generateKeyPairSync('x25519');
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const key = Buffer.from(hkdfSync('sha256', shared, recipientDer, SEALED_FOR_NODE_HKDF_INFO, 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    alg: SEALED_FOR_NODE_ALG,
    epk: ephemeral.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    iv: iv.toString('base64'),
    ct: ct.toString('base64'),
  };
}
