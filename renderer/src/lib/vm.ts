// Pure helpers of the views: which actions a power state allows, how validation issues map
// to form fields, and how the New VM form becomes createVm parameters.
import { toApiError } from '../../../core/api/wire.js';
import type {
  GuestOsPreset, IdeSlot, ValidationIssue, VmPowerState, VmSettings,
} from '../../../core/api/contract.js';

export const PRESET_LABELS: Record<GuestOsPreset, string> = {
  dos: 'MS-DOS / FreeDOS',
  win9x: 'Windows 95 / 98 / ME',
  linux: 'Linux (i386)',
  other: 'Other',
};

/** The memory the main process's presets give a new VM (shown in the New VM form). */
export const PRESET_MEMORY_MIB: Record<GuestOsPreset, number> = { dos: 32, win9x: 64, linux: 256, other: 64 };

export const IDE_SLOT_LABELS: Record<IdeSlot, string> = {
  primaryMaster: 'IDE primary master',
  primarySlave: 'IDE primary slave',
  secondaryMaster: 'IDE secondary master',
  secondarySlave: 'IDE secondary slave',
};

export const STATE_LABELS: Record<VmPowerState, string> = {
  off: 'Powered off', starting: 'Starting', running: 'Running', paused: 'Paused',
  suspended: 'Suspended', stopping: 'Stopping', crashed: 'Crashed',
};

export interface PowerActions {
  powerOn: boolean; powerOff: boolean; pause: boolean; resume: boolean; reset: boolean;
  edit: boolean; remove: boolean;
}

/** What the host's lifecycle (off → starting → running ⇄ paused → stopping → off) allows. */
export function powerActions(state: VmPowerState): PowerActions {
  const on = state === 'running' || state === 'paused';
  return {
    powerOn: state === 'off' || state === 'crashed' || state === 'suspended',
    powerOff: on || state === 'starting',
    pause: state === 'running',
    resume: state === 'paused',
    reset: on,
    edit: true,
    remove: state === 'off' || state === 'crashed',
  };
}

/** Messages of the issues about a field or anything below it ("ide.primaryMaster" covers ".path"). */
export function issuesFor(issues: readonly ValidationIssue[], field: string): string[] {
  return issues
    .filter((i) => i.field === field || i.field.startsWith(field + '.'))
    .map((i) => i.message);
}

/** Issues that no field of a form shows (so they are listed at the top instead). */
export function unplacedIssues(issues: readonly ValidationIssue[], fields: readonly string[]): ValidationIssue[] {
  return issues.filter((i) => !fields.some((f) => i.field === f || i.field.startsWith(f + '.')));
}

export type MediaKind = 'cdrom' | 'floppy' | 'disk';

/** A guess of what an image is by its name; the user can change it. */
export function guessMediaKind(path: string): MediaKind {
  const lower = path.toLowerCase();
  if (/\.(iso|cdr|toast)$/.test(lower)) return 'cdrom';
  if (/\.(ima|vfd|flp|dsk|144|288)$/.test(lower)) return 'floppy';
  if (/\.(img)$/.test(lower) && /(floppy|disk\d|fd|boot)/.test(lower)) return 'floppy';
  return 'disk';
}

export interface NewVmForm {
  name: string;
  osPreset: GuestOsPreset;
  memoryMiB: number;
  /** Installation or boot media. */
  imagePath: string;
  imageKind: MediaKind;
  /** An existing hard-disk image for the primary master. */
  diskPath: string;
}

/** The createVm parameters of the New VM form; what it leaves out takes the preset's defaults. */
export function newVmParams(form: NewVmForm): Partial<VmSettings> & { name: string } {
  const params: Partial<VmSettings> & { name: string } = {
    name: form.name.trim(),
    osPreset: form.osPreset,
    memoryMiB: form.memoryMiB,
  };
  const ide: VmSettings['ide'] = {
    primaryMaster: null, primarySlave: null, secondaryMaster: { kind: 'cdrom', path: null }, secondarySlave: null,
  };
  const disk = form.diskPath.trim();
  const image = form.imagePath.trim();
  if (disk) ide.primaryMaster = { kind: 'disk', path: disk };
  if (image && form.imageKind === 'cdrom') ide.secondaryMaster = { kind: 'cdrom', path: image };
  if (image && form.imageKind === 'disk' && !disk) ide.primaryMaster = { kind: 'disk', path: image };
  if (image && form.imageKind === 'floppy') {
    params.floppyA = image;
    params.bootOrder = 'acd';
  } else if (image && form.imageKind === 'cdrom') {
    params.bootOrder = 'dca';
  } else if (ide.primaryMaster) {
    params.bootOrder = 'cda';
  }
  if (disk || image) params.ide = ide;
  return params;
}

/** Maps the New VM form's settings fields back to its inputs. */
export function newVmFieldOf(issueField: string, form: NewVmForm): keyof NewVmForm | null {
  if (issueField === 'name' || issueField === 'osPreset' || issueField === 'memoryMiB') return issueField;
  if (issueField.startsWith('floppyA')) return 'imagePath';
  if (issueField.startsWith('ide.secondaryMaster')) return 'imagePath';
  if (issueField.startsWith('ide.primaryMaster')) return form.diskPath.trim() ? 'diskPath' : 'imagePath';
  return null;
}

/** Message and issues of an error, whichever transport threw it. */
export function describeError(err: unknown): { message: string; issues: ValidationIssue[] } {
  const e = toApiError(err);
  return { message: e.message, issues: [...e.issues] };
}

/** The file-system path of a dropped file, when the platform exposes one. */
export function droppedFilePath(file: File): string | null {
  const p = (file as File & { path?: unknown }).path;
  return typeof p === 'string' && p !== '' ? p : null;
}
