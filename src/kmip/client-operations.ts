import type { KmipError } from './errors';
import type { BatchOptions, BatchResult } from './client-batch';
import {
  certifyRequest, createKeyPairRequest, createSecretDataRequest, createSymmetricKeyRequest, decryptRequest, destroyRequest,
  discoverVersionsRequest, encryptRequest, getAttributesRequest, getRequest, hashRequest, importRequest, locateRequest,
  macRequest, queryRequest, registerRequest, revokeRequest, rngRetrieveRequest, signRequest, signatureVerifyRequest, uidRequest,
  type CertifySpec, type CryptoParams, type DecryptOptions, type EncryptOptions, type GetOptions, type KeyPairSpec,
  type KmipObject, type LocateFilter, type ObjectAttributes, type SecretDataSpec, type SignInput, type SymmetricKeySpec,
} from './requests';
import {
  readAttributes, readBytes, readEncrypt, readKeyPairIds, readLocatedIds, readObject, readProtocolVersions, readQuery,
  readUniqueIdentifier, readValidity,
  type EncryptResult, type KeyPairIds, type ObjectAttributesView, type ProtocolVersion, type QueryResult, type RetrievedObject,
} from './responses';
import type { TtlvStructure } from './ttlv';

export type { BatchOptions, BatchResult, KmipError };

/** What a KMIP transport provides; the typed methods below need nothing else. */
export interface KmipTransport {
  /** Sends one bare operation and returns its `<Op>Response`, or throws KmipError / KmipTransportError. */
  call(op: TtlvStructure): Promise<TtlvStructure>;
  /** Sends several operations in one RequestMessage; one result per operation, in order. */
  batch(ops: TtlvStructure[], opts?: BatchOptions): Promise<BatchResult[]>;
  close(): Promise<void>;
}

function signInput(input: Uint8Array | SignInput): SignInput {
  return input instanceof Uint8Array ? { data: input } : input;
}

/**
 * Typed KMIP operations returning plain data, over any transport (HTTP JSON or binary TLS).
 * This is the surface the CLI and the PKCS#11 token use.
 */
export abstract class KmipOperations implements KmipTransport {
  abstract call(op: TtlvStructure): Promise<TtlvStructure>;
  abstract batch(ops: TtlvStructure[], opts?: BatchOptions): Promise<BatchResult[]>;
  abstract close(): Promise<void>;

  /** A new symmetric key (Active unless activationDate is null); returns its UID. */
  async create(spec: SymmetricKeySpec): Promise<string> {
    return readUniqueIdentifier(await this.call(createSymmetricKeyRequest(spec)));
  }

  async createSecretData(spec: SecretDataSpec = {}): Promise<string> {
    return readUniqueIdentifier(await this.call(createSecretDataRequest(spec)));
  }

  async createKeyPair(spec: KeyPairSpec): Promise<KeyPairIds> {
    return readKeyPairIds(await this.call(createKeyPairRequest(spec)));
  }

  async register(object: KmipObject, attrs: ObjectAttributes = {}): Promise<string> {
    return readUniqueIdentifier(await this.call(registerRequest(object, attrs)));
  }

  async import(uid: string, object: KmipObject, attrs: ObjectAttributes = {}, opts: { replaceExisting?: boolean } = {}): Promise<string> {
    return readUniqueIdentifier(await this.call(importRequest(uid, object, attrs, opts.replaceExisting ?? false)));
  }

  async get(uid: string, opts: GetOptions = {}): Promise<RetrievedObject> {
    return readObject(await this.call(getRequest(uid, opts, 'Get')));
  }

  /** Like get, but also returns revoked or destroyed objects, with their attributes. */
  async export(uid: string, opts: GetOptions = {}): Promise<RetrievedObject> {
    return readObject(await this.call(getRequest(uid, opts, 'Export')));
  }

  async locate(filter: LocateFilter = {}): Promise<string[]> {
    return readLocatedIds(await this.call(locateRequest(filter)));
  }

  /** With no references the server returns everything but tags; pass 'tag' to get those. */
  async getAttributes(uid: string, references: readonly string[] = []): Promise<ObjectAttributesView> {
    return readAttributes(await this.call(getAttributesRequest(uid, references)));
  }

  async activate(uid: string): Promise<string> {
    return readUniqueIdentifier(await this.call(uidRequest('Activate', uid)));
  }

  /** reasonCode is a RevocationReasonCode name, e.g. CessationOfOperation or KeyCompromise. */
  async revoke(uid: string, reasonCode: string, message?: string): Promise<string> {
    return readUniqueIdentifier(await this.call(revokeRequest(uid, reasonCode, message)));
  }

  async destroy(uid: string, opts: { remove?: boolean } = {}): Promise<string> {
    return readUniqueIdentifier(await this.call(destroyRequest(uid, opts.remove ?? false)));
  }

  async encrypt(uid: string, data: Uint8Array, opts: EncryptOptions = {}): Promise<EncryptResult> {
    return readEncrypt(await this.call(encryptRequest(uid, data, opts)));
  }

  async decrypt(uid: string, data: Uint8Array, opts: DecryptOptions = {}): Promise<Buffer> {
    return readBytes(await this.call(decryptRequest(uid, data, opts)), 'Data');
  }

  /** A bare Uint8Array is the message; pass {digested} to sign a digest computed by the caller. */
  async sign(uid: string, input: Uint8Array | SignInput, params: CryptoParams = {}): Promise<Buffer> {
    return readBytes(await this.call(signRequest(uid, signInput(input), params)), 'SignatureData');
  }

  async verify(uid: string, input: Uint8Array | SignInput, signature: Uint8Array, params: CryptoParams = {}): Promise<boolean> {
    return readValidity(await this.call(signatureVerifyRequest(uid, signInput(input), signature, params)));
  }

  async mac(uid: string, data: Uint8Array, params: CryptoParams = {}): Promise<Buffer> {
    return readBytes(await this.call(macRequest(uid, data, params)), 'MACData');
  }

  /** hashing is a HashingAlgorithm name: SHA256, SHA384, SHA3256, … */
  async hash(hashing: string, data: Uint8Array): Promise<Buffer> {
    return readBytes(await this.call(hashRequest(hashing, data)), 'Data');
  }

  async rng(length: number): Promise<Buffer> {
    return readBytes(await this.call(rngRetrieveRequest(length)), 'Data');
  }

  /** Issues an X.509 certificate for a key pair; returns the certificate UID. */
  async certify(spec: CertifySpec): Promise<string> {
    return readUniqueIdentifier(await this.call(certifyRequest(spec)));
  }

  async query(functions?: readonly string[]): Promise<QueryResult> {
    return readQuery(await this.call(queryRequest(functions)));
  }

  async discoverVersions(): Promise<ProtocolVersion[]> {
    return readProtocolVersions(await this.call(discoverVersionsRequest()));
  }
}
