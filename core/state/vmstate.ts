// Declared device state, in the spirit of QEMU's VMState.
//
// Every stateful part of the machine (CPU, each device, RAM) declares its state: a name, a
// version and a list of named, typed fields that are properties of the object itself. The
// declaration alone drives snapshots: the serializer (./snapshot.ts) walks it to save and
// load, older versions are migrated forward field by field, and postLoad() recomputes
// whatever is derived from the saved fields (timers, cached lookups, IRQ lines).

export type ScalarType = 'u8' | 'u16' | 'u32' | 'i32' | 'f64' | 'bool' | 'string';
export type ArrayType = 'u8[]' | 'u16[]' | 'u32[]' | 'i32[]' | 'f64[]';
export type FieldType = ScalarType | ArrayType;

export interface FieldDecl {
  name: string;
  type: FieldType;
  /** For arrays: the fixed length; loading refuses a different length. Omit for variable. */
  length?: number;
}

/** A value as stored in a snapshot section. */
export type StateValue = number | boolean | string | Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

export interface VMStateDecl {
  /** Unique per machine, e.g. "pic.master", "uart.com1", "cpu". */
  name: string;
  /** Bumped whenever fields change meaning or are added/removed. */
  version: number;
  fields: readonly FieldDecl[];
  /**
   * Upgrades saved fields from `from` to `from + 1`, in place. Needed for every version below
   * `version` that the loader should still accept; a missing step makes the load fail clearly.
   */
  migrate?: Readonly<Record<number, (fields: Map<string, StateValue>) => void>>;
}

export interface Stateful {
  readonly vmstate: VMStateDecl;
  /** Recompute derived state after the declared fields were loaded. */
  postLoad?(): void;
}

export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

const ARRAY_CTORS = {
  'u8[]': Uint8Array,
  'u16[]': Uint16Array,
  'u32[]': Uint32Array,
  'i32[]': Int32Array,
  'f64[]': Float64Array,
} as const;

export function isArrayType(t: FieldType): t is ArrayType {
  return t.endsWith('[]');
}

/** Read the declared fields of `obj` into a map (arrays are copied unless `copy` is false). */
export function captureFields(obj: Stateful, copy = true): Map<string, StateValue> {
  const out = new Map<string, StateValue>();
  const bag = obj as unknown as Record<string, unknown>;
  for (const f of obj.vmstate.fields) {
    const v = bag[f.name];
    if (isArrayType(f.type)) {
      const Ctor = ARRAY_CTORS[f.type];
      if (!(v instanceof Ctor)) throw new StateError(`${obj.vmstate.name}.${f.name}: expected ${f.type}`);
      out.set(f.name, copy ? (v as InstanceType<typeof Ctor>).slice() : (v as InstanceType<typeof Ctor>));
    } else {
      out.set(f.name, normalizeScalar(obj.vmstate.name, f, v));
    }
  }
  return out;
}

/** Write a (migrated) field map back into `obj`, validating types and lengths, then postLoad. */
export function restoreFields(obj: Stateful, fields: Map<string, StateValue>): void {
  const bag = obj as unknown as Record<string, unknown>;
  const where = obj.vmstate.name;
  for (const f of obj.vmstate.fields) {
    if (!fields.has(f.name)) throw new StateError(`${where}: saved state lacks field "${f.name}"`);
    const v = fields.get(f.name)!;
    if (isArrayType(f.type)) {
      const Ctor = ARRAY_CTORS[f.type];
      if (!(v instanceof Ctor)) throw new StateError(`${where}.${f.name}: saved value is not ${f.type}`);
      const cur = bag[f.name];
      if (cur instanceof Ctor && cur.length === v.length) {
        (cur as InstanceType<typeof Ctor>).set(v as never);
      } else if (f.length !== undefined && v.length !== f.length) {
        throw new StateError(`${where}.${f.name}: saved length ${v.length}, expected ${f.length}`);
      } else {
        // Keep a copy: `v` may be a view into the caller's state file.
        bag[f.name] = (v as InstanceType<typeof Ctor>).slice();
      }
    } else {
      bag[f.name] = normalizeScalar(where, f, v);
    }
  }
  obj.postLoad?.();
}

function normalizeScalar(where: string, f: FieldDecl, v: unknown): number | boolean | string {
  switch (f.type) {
    case 'bool':
      if (typeof v !== 'boolean') throw new StateError(`${where}.${f.name}: expected bool`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw new StateError(`${where}.${f.name}: expected string`);
      return v;
    default: {
      if (typeof v !== 'number' || Number.isNaN(v) && f.type !== 'f64') {
        throw new StateError(`${where}.${f.name}: expected ${f.type} number`);
      }
      switch (f.type) {
        case 'u8': return v & 0xff;
        case 'u16': return v & 0xffff;
        case 'u32': return v >>> 0;
        case 'i32': return v | 0;
        default: return v;
      }
    }
  }
}

/** Bring saved fields from `savedVersion` up to `decl.version`, or fail clearly. */
export function migrateFields(decl: VMStateDecl, savedVersion: number, fields: Map<string, StateValue>): void {
  if (savedVersion > decl.version) {
    throw new StateError(`${decl.name}: saved by a newer version (${savedVersion} > ${decl.version})`);
  }
  for (let v = savedVersion; v < decl.version; v++) {
    const step = decl.migrate?.[v];
    if (!step) throw new StateError(`${decl.name}: cannot migrate state from version ${v}`);
    step(fields);
  }
}
