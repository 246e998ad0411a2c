/** The KMIP layer: tree, tables, codecs, messages, errors; then the client. */
export * from './ttlv';
export * from './errors';
export * from './tags';
export * from './enums';
export * from './limits';
export * from './json-codec';
export * from './binary-codec';
export * from './messages';

// ---- client ----
export * from './client';
export * from './requests';
export { readObject, readAttributes, toPlain, type RetrievedObject, type ObjectAttributesView, type KeyPairIds, type EncryptResult, type QueryResult, type PlainValue } from './responses';
