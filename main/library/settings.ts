// Merging partial settings over defaults or over a stored VM.
//
// Inputs may come from JSON (the web console, the CLI, an old database row), so nothing here
// trusts the static types: a wrongly typed value is carried through unchanged for
// validate.ts to report, never "fixed" silently.
import { GUEST_OS_PRESETS, IDE_SLOTS, type GuestOsPreset, type VmSettings } from '../../core/api/contract.js';
import { presetDefaults } from './presets.js';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The preset named by a partial settings object, or 'other' when absent or unknown. */
export function presetOf(partial: { osPreset?: unknown }): GuestOsPreset {
  const p = partial.osPreset;
  return typeof p === 'string' && (GUEST_OS_PRESETS as readonly string[]).includes(p) ? (p as GuestOsPreset) : 'other';
}

/** Full settings for a new VM: the preset's defaults with the given fields on top. */
export function settingsForNewVm(partial: Partial<VmSettings>): VmSettings {
  const base: VmSettings = { name: '', ...presetDefaults(presetOf(partial)) };
  return applyPatch(base, partial);
}

/**
 * `base` with `patch` applied: top-level fields replace, `nic` and `display` merge field by
 * field, `ide` merges slot by slot (a slot given as null removes its drive). Strings that
 * name things are trimmed. Returns a new object; `base` is not modified.
 */
export function applyPatch(base: VmSettings, patch: Partial<VmSettings>): VmSettings {
  const out = structuredClone(base) as VmSettings & Record<string, unknown>;
  if (!isPlainObject(patch)) return out;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (key === 'nic' || key === 'display') {
      const current = out[key];
      out[key] = (isPlainObject(value) && isPlainObject(current) ? { ...current, ...value } : value) as never;
    } else if (key === 'ide') {
      if (isPlainObject(value) && isPlainObject(out.ide)) {
        const ide: Record<string, unknown> = { ...out.ide };
        for (const [slot, drive] of Object.entries(value)) if (drive !== undefined) ide[slot] = structuredClone(drive);
        out.ide = ide as VmSettings['ide'];
      } else {
        out.ide = value as VmSettings['ide'];
      }
    } else {
      out[key] = structuredClone(value) as never;
    }
  }
  if (typeof out.name === 'string') out.name = out.name.trim();
  if (isPlainObject(out.nic)) {
    if (typeof out.nic.lanSegment === 'string') out.nic.lanSegment = out.nic.lanSegment.trim();
    // A LAN segment only means something on the 'lan' network; do not keep a stale one.
    if (out.nic.network !== 'lan') delete out.nic.lanSegment;
  }
  return out;
}

/** Only the VmSettings fields of a record-like object, in a stable order. */
export function pickSettings(v: VmSettings): VmSettings {
  const ide = {} as VmSettings['ide'];
  for (const slot of IDE_SLOTS) ide[slot] = v.ide?.[slot] ?? null;
  return {
    name: v.name,
    osPreset: v.osPreset,
    memoryMiB: v.memoryMiB,
    cpuModel: v.cpuModel,
    firmware: v.firmware,
    bootOrder: v.bootOrder,
    ...(v.bootMenuDelayMs !== undefined ? { bootMenuDelayMs: v.bootMenuDelayMs } : {}),
    floppyA: v.floppyA,
    floppyB: v.floppyB,
    ide,
    nic: v.nic,
    display: v.display,
    notes: v.notes,
  };
}
