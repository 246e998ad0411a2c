import { decodeAttributeValue, encodeAttributeValue, TemplateValueError, type AttributeValue } from './attribute-kinds';
import { attributeName, CKR } from './constants';
import { fail } from './errors';
import type { RawAttribute } from './types';

interface Entry {
  raw: Uint8Array;
  value: AttributeValue;
}

/**
 * A template as the application passed it, decoded by the one attribute-kind table. The
 * raw bytes are kept so that C_FindObjects can match objects exactly, byte for byte.
 */
export class Template {
  private constructor(private readonly entries: Map<number, Entry>, readonly ulongSize: number) {}

  static decode(raw: readonly RawAttribute[], ulongSize: number): Template {
    const entries = new Map<number, Entry>();
    for (const a of raw) {
      if (Array.isArray(a.value)) {
        // Nested templates are accepted and ignored: the KMS has no place to keep them.
        entries.set(a.type, { raw: new Uint8Array(), value: { kind: 'template', value: [] } });
        continue;
      }
      if (a.value === null) fail(CKR.ATTRIBUTE_VALUE_INVALID, `${attributeName(a.type)} has no value`);
      const bytes = a.value as Uint8Array;
      try {
        entries.set(a.type, { raw: bytes, value: decodeAttributeValue(a.type, bytes, ulongSize) });
      } catch (e) {
        if (e instanceof TemplateValueError) fail(CKR.ATTRIBUTE_VALUE_INVALID, e.message);
        throw e;
      }
    }
    return new Template(entries, ulongSize);
  }

  static empty(ulongSize: number): Template {
    return new Template(new Map(), ulongSize);
  }

  types(): number[] {
    return [...this.entries.keys()];
  }

  has(type: number): boolean {
    return this.entries.has(type);
  }

  raw(type: number): Uint8Array | undefined {
    return this.entries.get(type)?.raw;
  }

  /** True when an object's value, encoded as the host would, equals the template's bytes. */
  matches(type: number, value: AttributeValue): boolean {
    const entry = this.entries.get(type);
    if (!entry) return true;
    if (value.kind === 'template') return false;
    return Buffer.from(encodeAttributeValue(value, this.ulongSize)).equals(Buffer.from(entry.raw));
  }

  bool(type: number): boolean | undefined {
    const v = this.entries.get(type)?.value;
    if (v === undefined) return undefined;
    if (v.kind !== 'bool') fail(CKR.ATTRIBUTE_VALUE_INVALID, `${attributeName(type)} must be a CK_BBOOL`);
    return v.value;
  }

  ulong(type: number): number | undefined {
    const v = this.entries.get(type)?.value;
    if (v === undefined) return undefined;
    if (v.kind !== 'ulong') fail(CKR.ATTRIBUTE_VALUE_INVALID, `${attributeName(type)} must be a CK_ULONG`);
    return v.value;
  }

  bytes(type: number): Buffer | undefined {
    const entry = this.entries.get(type);
    return entry ? Buffer.from(entry.raw) : undefined;
  }

  string(type: number): string | undefined {
    const v = this.entries.get(type)?.value;
    if (v === undefined) return undefined;
    if (v.kind !== 'string') fail(CKR.ATTRIBUTE_VALUE_INVALID, `${attributeName(type)} must be text`);
    return v.value;
  }

  /** Fails with TEMPLATE_INCONSISTENT when the template sets an attribute to another value. */
  expect(type: number, value: number | boolean): void {
    const v = this.entries.get(type)?.value;
    if (v === undefined) return;
    if ((v.kind === 'ulong' || v.kind === 'bool') && v.value === value) return;
    fail(CKR.TEMPLATE_INCONSISTENT, `${attributeName(type)} cannot be ${JSON.stringify(v.value)} here`);
  }

  /** Fails with ATTRIBUTE_TYPE_INVALID for any attribute outside the allowed set. */
  allowOnly(allowed: ReadonlySet<number>, what: string): void {
    for (const type of this.entries.keys()) {
      if (!allowed.has(type)) fail(CKR.ATTRIBUTE_TYPE_INVALID, `${attributeName(type)} is not valid for ${what}`);
    }
  }
}
