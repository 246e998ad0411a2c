import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import type { KmipOperations } from '../../kmip/client-operations';
import type { EncryptOptions } from '../../kmip/requests';
import { CKR, CKZ } from '../constants';
import { fail, kmipFailure } from '../errors';
import type { PublicKeyInfo } from '../key-material';
import type { KmsObject } from '../kms-object';
import { HASH_BY_MECHANISM, HASH_BY_MGF, HASHES, type CipherKind, type MechanismSpec } from '../mechanisms';
import type { Mechanism } from '../types';
import { InputBuffer, ResultCache } from './output';

export type CipherDirection = 'encrypt' | 'decrypt';

/** The KMIP parameters of one cipher mechanism, checked once at C_EncryptInit/C_DecryptInit. */
interface CipherRequest {
  options: EncryptOptions;
  /** GCM: the tag's length in bytes, appended to (or split from) the ciphertext. */
  tagBytes: number;
  /** Block modes without padding need whole blocks. */
  blockAligned: boolean;
}

function cipherRequest(kind: CipherKind, mechanism: Mechanism): CipherRequest {
  const p = mechanism.parameter;
  if (kind.family === 'rsa') {
    if (kind.padding === 'PKCS1v15') {
      if (p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'CKM_RSA_PKCS takes no parameter');
      return { options: { padding: 'PKCS1v15' }, tagBytes: 0, blockAligned: false };
    }
    if (p.kind !== 'oaep') fail(CKR.MECHANISM_PARAM_INVALID, 'CKM_RSA_PKCS_OAEP needs CK_RSA_PKCS_OAEP_PARAMS');
    const hash = HASH_BY_MECHANISM.get(p.hashAlg);
    const mgf = HASH_BY_MGF.get(p.mgf);
    if (!hash || !mgf) fail(CKR.MECHANISM_PARAM_INVALID, 'unsupported OAEP hash or MGF');
    if (p.source !== 0 && p.source !== CKZ.DATA_SPECIFIED) fail(CKR.MECHANISM_PARAM_INVALID, 'unsupported OAEP source');
    const label = p.sourceData && p.sourceData.length > 0 ? { pSource: p.sourceData } : {};
    return { options: { padding: 'OAEP', hashing: HASHES[hash].kmip, maskGeneratorHashing: HASHES[mgf].kmip, ...label }, tagBytes: 0, blockAligned: false };
  }
  const base: EncryptOptions = { algorithm: 'AES', mode: kind.mode, padding: kind.padding };
  switch (kind.mode) {
    case 'GCM': {
      if (p.kind !== 'gcm') fail(CKR.MECHANISM_PARAM_INVALID, 'CKM_AES_GCM needs CK_GCM_PARAMS');
      if (p.iv.length === 0 || p.iv.length > 256) fail(CKR.MECHANISM_PARAM_INVALID, `a GCM IV of ${p.iv.length} bytes`);
      if (p.hasIvBits && p.ivBits !== p.iv.length * 8 && p.ivBits !== 0) fail(CKR.MECHANISM_PARAM_INVALID, 'ulIvBits does not match ulIvLen');
      if (p.tagBits % 8 !== 0 || p.tagBits < 32 || p.tagBits > 128) fail(CKR.MECHANISM_PARAM_INVALID, `a GCM tag of ${p.tagBits} bits`);
      return { options: { ...base, iv: p.iv, ivLength: p.iv.length, tagLength: p.tagBits / 8, ...(p.aad.length ? { aad: p.aad } : {}) }, tagBytes: p.tagBits / 8, blockAligned: false };
    }
    case 'CBC':
    case 'ECB':
      if (kind.mode === 'CBC' && (p.kind !== 'raw' || p.bytes.length !== 16)) fail(CKR.MECHANISM_PARAM_INVALID, 'AES-CBC needs a 16-byte IV');
      if (kind.mode === 'ECB' && p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'AES-ECB takes no parameter');
      return { options: { ...base, ...(p.kind === 'raw' ? { iv: p.bytes } : {}) }, tagBytes: 0, blockAligned: kind.padding === 'None' };
    case 'CTR':
      if (p.kind !== 'ctr' || p.counterBits === 0 || p.counterBits > 128) fail(CKR.MECHANISM_PARAM_INVALID, 'AES-CTR needs CK_AES_CTR_PARAMS');
      return { options: { ...base, iv: p.counterBlock }, tagBytes: 0, blockAligned: false };
    default:
      // The RFC 3394/5649 default IV is the only one KMIP can express.
      if (p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'AES key wrap with a non-default IV is not supported');
      return { options: base, tagBytes: 0, blockAligned: false };
  }
}

/**
 * One encryption or decryption: single-part, or Update calls collected until Final, since
 * the KMS has no multi-part cipher. The KMS does the work once per input, even across a
 * length query.
 */
export class CipherOperation {
  private readonly request: CipherRequest;
  private readonly input = new InputBuffer();
  private readonly cache = new ResultCache();

  constructor(
    readonly direction: CipherDirection,
    private readonly spec: MechanismSpec,
    mechanism: Mechanism,
    private readonly key: KmsObject,
    private readonly kms: () => KmipOperations,
    /** Set when the slot may encrypt locally with this public key. */
    private readonly localPublicKey?: PublicKeyInfo,
  ) {
    this.request = cipherRequest(spec.cipher as CipherKind, mechanism);
  }

  run(data: Uint8Array): Promise<Buffer> {
    return this.cache.get(data, () => this.remote(Buffer.from(data)));
  }

  update(data: Uint8Array): void {
    this.input.add(data);
  }

  /** The whole collected input, once; a length query keeps the result for the next call. */
  finish(): Promise<Buffer> {
    return this.cache.get(new Uint8Array(), () => this.remote(this.input.take()));
  }

  clear(): void {
    this.input.clear();
    this.cache.clear();
  }

  private async remote(data: Buffer): Promise<Buffer> {
    const { options, tagBytes, blockAligned } = this.request;
    const decrypting = this.direction === 'decrypt';
    if (blockAligned && data.length % 16 !== 0) {
      fail(decrypting ? CKR.ENCRYPTED_DATA_LEN_RANGE : CKR.DATA_LEN_RANGE, 'AES without padding needs whole 16-byte blocks');
    }
    if (decrypting && data.length < tagBytes) fail(CKR.ENCRYPTED_DATA_LEN_RANGE, 'shorter than the GCM tag');
    try {
      if (!decrypting) {
        // Node's OAEP uses one hash for both the label and MGF1: other combinations go to the KMS.
        if (this.localPublicKey && this.spec.cipher?.family === 'rsa' && options.maskGeneratorHashing === options.hashing) return this.encryptLocally(data);
        const result = await this.kms().encrypt(this.key.uid, data, options);
        return tagBytes > 0 ? Buffer.concat([result.data, result.tag ?? Buffer.alloc(0)]) : result.data;
      }
      if (tagBytes > 0) {
        const body = data.subarray(0, data.length - tagBytes);
        return await this.kms().decrypt(this.key.uid, body, { ...options, tag: data.subarray(data.length - tagBytes) });
      }
      return await this.kms().decrypt(this.key.uid, data, options);
    } catch (e) {
      throw kmipFailure(e, decrypting ? 'decrypt' : 'key');
    }
  }

  private encryptLocally(data: Buffer): Buffer {
    const info = this.localPublicKey as PublicKeyInfo;
    const oaep = this.request.options.padding === 'OAEP';
    const hash = Object.values(HASHES).find((h) => h.kmip === this.request.options.hashing);
    try {
      return publicEncrypt({
        key: createPublicKey({ key: info.spki, format: 'der', type: 'spki' }),
        padding: oaep ? constants.RSA_PKCS1_OAEP_PADDING : constants.RSA_PKCS1_PADDING,
        ...(oaep && hash ? { oaepHash: hash.node } : {}),
        ...(oaep && this.request.options.pSource ? { oaepLabel: Buffer.from(this.request.options.pSource) } : {}),
      }, data);
    } catch {
      return fail(CKR.DATA_LEN_RANGE, 'the data does not fit this RSA key and padding');
    }
  }
}
