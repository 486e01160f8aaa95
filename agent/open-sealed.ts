import {
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import type { SealedForNode } from '../shared/domain/agent-protocol.js';
import { SEALED_FOR_NODE_ALG, SEALED_FOR_NODE_HKDF_INFO } from '../shared/domain/agent-wire.js';

/** This boot's X25519 key pair: the public half is registered, the private half never leaves the process. */
export interface BootKeys {
  /** SPKI DER, base64: what `registered` carries and what the app seals for. */
  publicKey: string;
  /** Opens a value the app sealed for this boot (shared/secrets/seal-for-node.ts); throws if it was not. */
  open(sealed: SealedForNode): string;
}

export function newBootKeys(): BootKeys {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const publicDer = publicKey.export({ format: 'der', type: 'spki' });
  return { publicKey: publicDer.toString('base64'), open: (sealed) => openSealed(privateKey, publicDer, sealed) };
}

function openSealed(privateKey: KeyObject, recipientDer: Buffer, sealed: SealedForNode): string {
  if (sealed.alg !== SEALED_FOR_NODE_ALG) throw new Error(`unknown sealing algorithm ${sealed.alg}`);
  const ephemeral = createPublicKey({ key: Buffer.from(sealed.epk, 'base64'), format: 'der', type: 'spki' });
  const shared = diffieHellman({ privateKey, publicKey: ephemeral });
  const key = Buffer.from(hkdfSync('sha256', shared, recipientDer, SEALED_FOR_NODE_HKDF_INFO, 32));
  const data = Buffer.from(sealed.ct, 'base64');
  if (data.length < 16) throw new Error('sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}
