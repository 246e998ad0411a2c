import { privateDecrypt, privateEncrypt, type KeyObject } from 'node:crypto';
import { hash, hmac, hmacVerify, type HashAlgorithm } from './digest';
import { symmetricDecrypt, symmetricEncrypt } from './symmetric';
import type { SymmetricParams } from './symmetric-common';
import type { RsaOptions } from './offload';
import { serveJobs, type Op } from './worker-messages';

/** The thread side of offload.ts's pool: one table of operations, Buffers revived on the way in. */

const OPS: Readonly<Record<string, Op>> = {
  privateDecrypt: (key: KeyObject, data: Buffer, o: RsaOptions) => privateDecrypt({ key, padding: o.padding, ...(o.oaepHash ? { oaepHash: o.oaepHash } : {}), ...(o.oaepLabel ? { oaepLabel: o.oaepLabel } : {}) }, data),
  privateEncrypt: (key: KeyObject, data: Buffer, o: RsaOptions) => privateEncrypt({ key, padding: o.padding }, data),
  symmetricEncrypt: (p: SymmetricParams) => symmetricEncrypt(p),
  symmetricDecrypt: (p: SymmetricParams & { tag?: Buffer }) => symmetricDecrypt(p),
  hash: (alg: HashAlgorithm, data: Buffer) => hash(alg, data),
  hmac: (alg: HashAlgorithm, key: Buffer, data: Buffer) => hmac(alg, key, data),
  hmacVerify: (alg: HashAlgorithm, key: Buffer, data: Buffer, expected: Buffer) => hmacVerify(alg, key, data, expected),
};

serveJobs(OPS);
