import { createPrivateKey } from 'node:crypto';
import { COSMIAN_FAILURES, KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { getAttr, linkedId, textAttr } from '../model/attributes';
import { isExtractable, isProtectable, isSensitive } from '../model/protection';
import { defaultFormat, keyBlock, privateKeyMaterial, publicKeyMaterial, symmetricKeyMaterial } from '../model/key-block';
import { publicKeyOf, symmetricKeyOf } from '../model/key-objects';
import { effectiveState, requireUsableState } from '../model/lifecycle';
import { fullAttributes, userTags, type ManagedObject } from '../model/managed-object';
import { tagsAttribute } from '../model/attributes';
import { rsaEncryptionChoice, symmetricChoice } from '../model/crypto-params';
import { USAGE, requireUsage } from '../model/usage';
import { rsaEncrypt, symmetricEncrypt } from '../crypto';
import { buildPkcs12 } from '../crypto/pkcs12';
import { read, readCryptoParams } from './payload';
import { hsmWrappingKeyOf, isWrappingKeyLink } from '../hsm/key-wrapping';
import { KEY_WRAPPING_DATA, registeredWrappedBlock, registeredWrapping, requireUnwrapped } from '../model/registered-wrapped';
import { atRestKeyWrappingData, kmsWrappingKeyOf } from '../model/kms-wrapping';

interface Wrapping {
  method: string;
  keyUid: string;
  params: TtlvStructure | undefined;
  /**
   * NoEncoding wraps the KeyMaterial bytes alone and keeps the KeyValue a structure (KMIP 1.4
   * §2.1.5, what PyKMIP asks for and can read); otherwise the whole KeyValue is wrapped as
   * Cosmian does (the default, TTLVEncoding, though the bytes wrapped are the key's).
   */
  encoding: string | undefined;
}

function readWrapping(p: TtlvStructure): Wrapping | undefined {
  const spec = read.struct(p, 'KeyWrappingSpecification');
  if (!spec) return undefined;
  const method = read.enum(spec, 'WrappingMethod') ?? 'Encrypt';
  const info = read.struct(spec, 'EncryptionKeyInformation');
  const keyUid = read.text(info, 'UniqueIdentifier');
  if (!keyUid) throw new KmipError('Missing_Data', 'missing EncryptionKeyInformation.UniqueIdentifier');
  return { method, keyUid, params: read.struct(info, 'CryptographicParameters'), encoding: read.enum(spec, 'EncodingOption') };
}

/** The bytes a key is wrapped as: raw for symmetric keys, PKCS#8 for private keys, SPKI for public ones. */
async function wrapKeyBytes(ctx: OperationContext, bytes: Buffer, w: Wrapping): Promise<{ wrapped: Buffer; data: TtlvStructure }> {
  if (w.method !== 'Encrypt') throw new KmipError('Feature_Not_Supported', `wrapping method ${w.method} is not supported`);
  // Wrapping encrypts with the wrapping key: a non-owner needs "encrypt" on it, whatever it exports.
  const wrapper = await ctx.load(w.keyUid, 'encrypt');
  requireUsableState(wrapper, 'protect', ctx.now());
  requireUsage(wrapper, 'WrapKey', USAGE.WrapKey | USAGE.Encrypt);
  const params = readCryptoParams(w.params ? T.struct('x', [w.params]) : undefined);
  let wrapped: Buffer;
  if (wrapper.objectType === 'SymmetricKey') {
    const choice = symmetricChoice({ mode: 'AESKeyWrapPadding', ...params }, textAttr(wrapper.attributes, 'CryptographicAlgorithm') ?? 'AES');
    wrapped = symmetricEncrypt({ ...choice, key: symmetricKeyOf(wrapper), data: bytes }).data;
  } else {
    wrapped = await rsaEncrypt(publicKeyOf(wrapper), bytes, rsaEncryptionChoice(params));
  }
  const data = T.struct('KeyWrappingData', [
    T.enum('WrappingMethod', 'Encrypt'),
    T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', w.keyUid), w.params]),
    w.encoding !== undefined ? T.enum('EncodingOption', w.encoding) : undefined,
  ]);
  return { wrapped, data };
}

/** Enforces Sensitive and Extractable: a sensitive key leaves only wrapped; a non-extractable one never. */
function checkExportable(o: ManagedObject, wrapping: Wrapping | true | undefined): void {
  if (!isProtectable(o.objectType)) return;
  if (!isExtractable(o.attributes)) {
    throw new KmipError('Not_Extractable', `object ${o.uid} is not extractable`);
  }
  if (isSensitive(o.attributes) && !wrapping) {
    throw new KmipError('Sensitive', `object ${o.uid} is sensitive: it can only be exported wrapped`);
  }
}

/**
 * The format of a Get that names none. Clients of KMIP 1.x and 2.0 (PyKMIP, appliances) get an
 * asymmetric key back in the format it was registered in, as PyKMIP's server does (its Get
 * converts nothing); for a key made here that is PKCS#8 or X.509. KMIP 2.1 clients (Cosmian's)
 * get Cosmian's defaults.
 */
function requestedOrRegisteredFormat(ctx: OperationContext, o: ManagedObject, format: string | undefined): string | undefined {
  if (format !== undefined || (ctx.protocolMajor === 2 && ctx.protocolMinor >= 1)) return format;
  if (o.objectType !== 'PrivateKey' && o.objectType !== 'PublicKey') return undefined;
  const registered = getAttr(o.attributes, 'KeyFormatType');
  return registered ? String(registered.value) : undefined;
}

async function renderObject(ctx: OperationContext, o: ManagedObject, format: string | undefined, wrapping: Wrapping | undefined, pkcs12Password: string | undefined): Promise<TtlvStructure> {
  if (!o.material) throw new KmipError('Key_Value_Not_Present', `object ${o.uid} has no key material (${o.state})`);
  const algorithm = getAttr(o.attributes, 'CryptographicAlgorithm');
  const length = getAttr(o.attributes, 'CryptographicLength');
  // KeyValue carries an Attributes structure (KMIP 2.1, Cosmian); 1.x and 2.0 answers drop it (kmip1.ts).
  const attrs = [...fullAttributes(o), ...(userTags(o).length ? [tagsAttribute(userTags(o))] : [])];
  const finish = async (fmt: string, material: TtlvNode, canonical: Buffer): Promise<TtlvStructure> => {
    if (!wrapping) return keyBlock(fmt, material, attrs, algorithm, length);
    if (wrapping.encoding === 'NoEncoding') {
      if (material.type !== 'ByteString') throw new KmipError('Encoding_Option_Error', `a ${fmt} key has no byte string to wrap without encoding`);
      const { wrapped, data } = await wrapKeyBytes(ctx, Buffer.from(material.value), wrapping);
      return T.struct('KeyBlock', [T.enum('KeyFormatType', fmt), T.struct('KeyValue', [T.bytes('KeyMaterial', wrapped)]), algorithm, length, data]);
    }
    const { wrapped, data } = await wrapKeyBytes(ctx, canonical, wrapping);
    return T.struct('KeyBlock', [T.enum('KeyFormatType', fmt), T.bytes('KeyValue', wrapped), algorithm, length, data]);
  };
  switch (o.objectType) {
    case 'SymmetricKey': {
      const fmt = format ?? defaultFormat('SymmetricKey');
      const key = symmetricKeyOf(o); // unwrapped through the HSM when the key is stored wrapped
      return T.struct('SymmetricKey', [await finish(fmt, symmetricKeyMaterial(fmt, key), key)]);
    }
    case 'PrivateKey': {
      if (format === 'PKCS12') return T.struct('PrivateKey', [await pkcs12Block(ctx, o, pkcs12Password)]);
      const fmt = format ?? defaultFormat('PrivateKey', createPrivateKey({ key: o.material, format: 'der', type: 'pkcs8' }));
      const wrappedFmt = wrapping && wrapping.encoding !== 'NoEncoding' ? 'PKCS8' : fmt;
      return T.struct('PrivateKey', [await finish(wrappedFmt, privateKeyMaterial(fmt, o.material), o.material)]);
    }
    case 'PublicKey': {
      const fmt = format ?? defaultFormat('PublicKey', publicKeyOf(o));
      return T.struct('PublicKey', [await finish(fmt, publicKeyMaterial(fmt, o.material), o.material)]);
    }
    case 'SplitKey': {
      const fmt = format ?? 'Raw';
      const fields = ['SplitKeyParts', 'KeyPartIdentifier', 'SplitKeyThreshold', 'SplitKeyMethod', 'PrimeFieldSize'].map((tag) => getAttr(o.attributes, tag));
      return T.struct('SplitKey', [...fields, await finish(fmt, symmetricKeyMaterial(fmt, o.material), o.material)]);
    }
    case 'Certificate':
      if (format !== undefined && format !== 'X509') throw new KmipError('Key_Format_Type_Not_Supported', `a certificate is exported as X509, not ${format}`);
      return T.struct('Certificate', [T.enum('CertificateType', 'X509'), T.bytes('CertificateValue', o.material)]);
    case 'SecretData': {
      const type = getAttr(o.attributes, 'SecretDataType');
      return T.struct('SecretData', [
        T.enum('SecretDataType', type && type.type === 'Enumeration' ? type.value : 'Password'),
        await finish('Raw', T.bytes('KeyMaterial', o.material), o.material),
      ]);
    }
    case 'OpaqueObject': {
      const type = getAttr(o.attributes, 'OpaqueDataType');
      return T.struct('OpaqueObject', [T.enum('OpaqueDataType', type && type.type === 'Enumeration' ? type.value : 'Unknown'), T.bytes('OpaqueDataValue', o.material)]);
    }
  }
}

/** PKCS#12 of a private key with its linked certificate; Cosmian passes the password as the wrapping key "UID". */
async function pkcs12Block(ctx: OperationContext, o: ManagedObject, password: string | undefined): Promise<TtlvStructure> {
  if (password === undefined) throw new KmipError('Missing_Data', 'PKCS12 export needs a password (KeyWrappingSpecification.EncryptionKeyInformation.UniqueIdentifier)');
  const certUid = linkedId(o.attributes, 'CertificateLink') ?? linkedId(o.attributes, 'PKCS12CertificateLink');
  if (!certUid) throw new KmipError('Item_Not_Found', `private key ${o.uid} has no linked certificate`);
  const cert = await ctx.load(certUid);
  if (!cert.material || !o.material) throw new KmipError('Key_Value_Not_Present', 'the certificate or the key has no value');
  const pfx = buildPkcs12({ certificateDer: cert.material, privateKeyPkcs8Der: o.material, password, friendlyName: textAttr(o.attributes, 'Pkcs12FriendlyName') ?? o.uid });
  return T.struct('KeyBlock', [T.enum('KeyFormatType', 'PKCS12'), T.struct('KeyValue', [T.bytes('KeyMaterial', pfx)])]);
}

/**
 * A key that arrived wrapped, seen in clear: what Get renders when asked for it unwrapped
 * (KeyWrapType NotWrapped), wrapped another way, or in another format. Only a key the server can
 * unwrap (a WrappingKeyLink to a KMS key, registered-wrapped.ts) has one.
 */
function clearView(o: ManagedObject): ManagedObject {
  if (!o.unwrapKey) return o;
  const material = requireUnwrapped(o) ?? null;
  const attributes = o.attributes.filter((n) => n.tag !== KEY_WRAPPING_DATA && !isWrappingKeyLink(n) && n.tag !== 'KeyFormatType');
  const { unwrapKey: _unwrap, ...rest } = o;
  return { ...rest, material, attributes };
}

async function getOrExport(p: TtlvStructure, ctx: OperationContext, exporting: boolean): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  let o = await ctx.load(uid);
  const state = effectiveState(o, ctx.now());
  const destroyed = state === 'Destroyed' || state === 'Destroyed_Compromised';
  const format = read.enum(p, 'KeyFormatType');
  if (read.enum(p, 'KeyCompressionType') !== undefined) throw new KmipError('Key_Compression_Type_Not_Supported', 'key compression is not supported');
  const isPkcs12 = format === 'PKCS12';
  const wrapping = isPkcs12 ? undefined : readWrapping(p);
  const password = isPkcs12 ? read.text(child(child(p, 'KeyWrappingSpecification'), 'EncryptionKeyInformation'), 'UniqueIdentifier') : undefined;
  const head = [T.enum('ObjectType', o.objectType), T.text('UniqueIdentifier', uid)];
  const response = exporting ? 'ExportResponse' : 'GetResponse';
  if (destroyed) {
    if (!exporting) throw COSMIAN_FAILURES.objectDestroyed(`object ${uid} is destroyed`);
    return T.struct(response, [...head, T.struct('Attributes', fullAttributes(o))]);
  }
  // A key stored wrapped by an HSM key leaves as stored (iv‖ct‖tag with KeyWrappingData naming the HSM key),
  // as Cosmian's default does, unless KeyWrapType NotWrapped asks for it in clear or another wrapping is asked for.
  const registeredWrapped = registeredWrapping(o.attributes);
  // Cosmian's Get returns a wrapped key as stored unless KeyWrapType NotWrapped asks it unwrapped
  // (crate/server/src/core/operations/export_get.rs); a key the server can unwrap can also be converted or re-wrapped.
  const asRegistered = !wrapping && !isPkcs12 && read.enum(p, 'KeyWrapType') !== 'NotWrapped' && (format === undefined || format === textAttr(o.attributes, 'KeyFormatType'));
  if (registeredWrapped && o.unwrapKey && !asRegistered) {
    o = clearView(o);
  } else if (registeredWrapped) {
    // Registered wrapped: it leaves as it came (PyKMIP's server does the same); the KMS cannot unwrap it.
    if (wrapping || isPkcs12 || read.enum(p, 'KeyWrapType') === 'NotWrapped') throw new KmipError('Key_Wrap_Type_Not_Supported', `object ${uid} was registered wrapped; it can only be returned as registered`);
    if (format !== undefined && format !== textAttr(o.attributes, 'KeyFormatType')) throw new KmipError('Key_Format_Type_Not_Supported', `object ${uid} was registered wrapped in ${textAttr(o.attributes, 'KeyFormatType')}; it cannot be converted`);
    checkExportable(o, true);
    const fields = o.objectType === 'SecretData' ? [getAttr(o.attributes, 'SecretDataType')]
      : o.objectType === 'SplitKey' ? ['SplitKeyParts', 'KeyPartIdentifier', 'SplitKeyThreshold', 'SplitKeyMethod', 'PrimeFieldSize'].map((tag) => getAttr(o.attributes, tag)) : [];
    return T.struct(response, [...head, exporting ? T.struct('Attributes', fullAttributes(o)) : undefined, T.struct(o.objectType, [...fields, registeredWrappedBlock(o, registeredWrapped)])]);
  }
  // The same for a key wrapped at rest by a KMS key: KeyWrappingData names that key (RFC 5649).
  const hsmKek = o.objectType === 'SymmetricKey' ? hsmWrappingKeyOf(o.attributes) : undefined;
  const kmsKek = o.objectType === 'SymmetricKey' ? kmsWrappingKeyOf(o.attributes) : undefined;
  const atRestKek = hsmKek ?? kmsKek;
  const wrappingData = atRestKek !== undefined ? atRestKeyWrappingData(atRestKek) : undefined;
  const asStored = wrappingData !== undefined && !wrapping && !isPkcs12 && read.enum(p, 'KeyWrapType') !== 'NotWrapped';
  // A PKCS#12 password is chosen by the caller, so it protects nothing against the caller: treat it as clear.
  checkExportable(o, isPkcs12 ? undefined : asStored ? true : wrapping);
  const object = asStored && wrappingData !== undefined && o.material
    ? T.struct('SymmetricKey', [T.struct('KeyBlock', [T.enum('KeyFormatType', format ?? defaultFormat('SymmetricKey')), T.bytes('KeyValue', o.material),
      getAttr(o.attributes, 'CryptographicAlgorithm'), getAttr(o.attributes, 'CryptographicLength'), wrappingData])])
    : await renderObject(ctx, o, requestedOrRegisteredFormat(ctx, o, format), wrapping, password);
  return T.struct(response, [...head, exporting ? T.struct('Attributes', fullAttributes(o)) : undefined, object]);
}

export function get(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return getOrExport(p, ctx, false);
}

export function exportObject(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return getOrExport(p, ctx, true);
}
