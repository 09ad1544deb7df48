// Settings validation: every problem found, each with the dotted field it belongs to and a
// message a user can act on. Nothing here throws on malformed input.
import { closeSync, openSync, readSync, realpathSync, statSync, accessSync, constants } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import {
  CPU_MODELS, GUEST_OS_PRESETS, IDE_SLOTS, NETWORK_MODES, NIC_MODELS,
  type ValidationIssue, type VmSettings,
} from '../../core/api/contract.js';
import { isPlainObject } from './settings.js';
import { nicExtrasIssues } from '../net/nic-settings.js';
import { seabiosMissing } from '../run/seabios.js';

/** Guest RAM limits in MiB. 3584 MiB ends RAM at 0xE000_0000, below the PCI MMIO hole. */
export const MEMORY_MIN_MIB = 1;
export const MEMORY_MAX_MIB = 3584;
export const NAME_MAX_LENGTH = 64;
export const NOTES_MAX_LENGTH = 20_000;
/** Video memory: a power of two, as a PCI BAR must be; 64 MiB is ample for every VBE mode. */
export const VRAM_MIN_MIB = 1;
export const VRAM_MAX_MIB = 64;
/** The largest real floppy format is 2.88 MB; anything much larger is not a floppy image. */
export const FLOPPY_MAX_BYTES = 4 * 1024 * 1024;
export const ROM_MIN_BYTES = 64 * 1024;
export const ROM_MAX_BYTES = 16 * 1024 * 1024;
export const LAN_SEGMENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

const BOOT_DEVICES: Record<string, string> = { a: 'floppy', c: 'hard disk', d: 'CD-ROM' };
const HARD_DISK_FORMATS = new Set(['.qcow2', '.qcow', '.vmdk', '.vhd', '.vhdx', '.vdi']);

export interface ValidationContext {
  /** True when another VM (not `exceptId`) already uses this name, compared case-insensitively. */
  nameTaken(name: string, exceptId?: string): boolean;
  /** The VM being edited, if any. */
  id?: string;
}

export function validateSettings(settings: VmSettings, ctx: ValidationContext): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (field: string, message: string) => issues.push({ field, message });
  const s = settings as unknown as Record<string, unknown>;
  if (!isPlainObject(s)) return [{ field: '', message: 'Settings must be an object' }];

  // Name.
  if (typeof s.name !== 'string') add('name', 'Name must be text');
  else {
    const name = s.name.trim();
    if (name === '') add('name', 'Name is required');
    else if ([...name].length > NAME_MAX_LENGTH) add('name', `Name is too long: ${[...name].length} characters, at most ${NAME_MAX_LENGTH}`);
    else if (/[\u0000-\u001f\u007f]/.test(name)) add('name', 'Name must not contain control characters (tabs, line breaks)');
    else if (ctx.nameTaken(name, ctx.id)) add('name', `Another VM is already named "${name}"`);
  }

  if (!(GUEST_OS_PRESETS as readonly unknown[]).includes(s.osPreset)) {
    add('osPreset', `Unknown guest OS preset ${show(s.osPreset)}; choose one of ${GUEST_OS_PRESETS.join(', ')}`);
  }

  // Memory.
  const mem = s.memoryMiB;
  if (typeof mem !== 'number' || !Number.isFinite(mem)) add('memoryMiB', 'Memory must be a number of MiB');
  else if (!Number.isInteger(mem)) add('memoryMiB', `Memory must be a whole number of MiB, not ${mem}`);
  else if (mem < MEMORY_MIN_MIB || mem > MEMORY_MAX_MIB) {
    add('memoryMiB', `Memory must be between ${MEMORY_MIN_MIB} and ${MEMORY_MAX_MIB} MiB, not ${mem}`);
  }

  if (!(CPU_MODELS as readonly unknown[]).includes(s.cpuModel)) {
    add('cpuModel', `Unknown CPU model ${show(s.cpuModel)}; choose one of ${CPU_MODELS.join(', ')}`);
  }

  validateFirmware(s.firmware, add);
  validateBootOrder(s.bootOrder, add);
  validateBootMenuDelay(s.bootMenuDelayMs, add);

  // Removable and fixed media. `seen` maps each image's real path to the first field using it.
  const seen = new Map<string, string>();
  const noteImage = (path: string, field: string, label: string) => {
    const key = canonicalPath(path);
    const first = seen.get(key);
    if (first !== undefined) add(field, `${label} uses the same image as ${describeField(first)} (${path}); an image can be attached only once`);
    else seen.set(key, field);
  };
  for (const drive of ['floppyA', 'floppyB'] as const) {
    const v = s[drive];
    if (v === null || v === undefined) continue;
    const label = drive === 'floppyA' ? 'Floppy A' : 'Floppy B';
    if (checkImage(v, drive, label, add)) {
      const size = statSync(v as string).size;
      if (size > FLOPPY_MAX_BYTES) add(drive, `${label} image ${v} is ${formatBytes(size)}, too large for a floppy (the largest format holds 2.88 MB)`);
      noteImage(v as string, drive, label);
    }
  }

  const ide = s.ide;
  if (!isPlainObject(ide)) add('ide', 'IDE drives must be an object with the four slots ' + IDE_SLOTS.join(', '));
  else {
    for (const key of Object.keys(ide)) {
      if (!(IDE_SLOTS as readonly string[]).includes(key)) add(`ide.${key}`, `Unknown IDE slot "${key}"; the slots are ${IDE_SLOTS.join(', ')}`);
    }
    for (const slot of IDE_SLOTS) {
      const drive = ide[slot];
      if (drive === null || drive === undefined) continue;
      const label = describeField(`ide.${slot}`);
      if (!isPlainObject(drive)) { add(`ide.${slot}`, `${label} must be a drive ({kind, path}) or empty`); continue; }
      if (drive.kind !== 'disk' && drive.kind !== 'cdrom') { add(`ide.${slot}.kind`, `${label}: drive kind must be "disk" or "cdrom", not ${show(drive.kind)}`); continue; }
      if (drive.mode !== undefined && drive.mode !== 'persistent' && drive.mode !== 'nonpersistent') {
        add(`ide.${slot}.mode`, `${label}: disk mode must be "persistent" or "nonpersistent", not ${show(drive.mode)}`);
      }
      const field = `ide.${slot}.path`;
      if (drive.kind === 'cdrom' && drive.path === null) continue; // an empty CD-ROM drive
      if (drive.kind === 'disk' && (drive.path === null || drive.path === undefined || drive.path === '')) {
        add(field, `${label} is a hard disk without an image; choose a disk image or remove the drive`);
        continue;
      }
      if (!checkImage(drive.path, field, label, add)) continue;
      const path = drive.path as string;
      if (drive.kind === 'disk' && looksLikeCdImage(path)) {
        add(field, `${label}: ${path} is a CD image (ISO 9660); attach it to a CD-ROM drive, not a hard-disk slot`);
      } else if (drive.kind === 'cdrom' && HARD_DISK_FORMATS.has(extname(path).toLowerCase())) {
        add(field, `${label}: ${path} is a hard-disk image; attach it as a hard disk, not a CD-ROM`);
      }
      noteImage(path, field, label);
    }
  }

  validateNic(s.nic, add);
  validateDisplay(s.display, add);

  if (typeof s.notes !== 'string') add('notes', 'Notes must be text');
  else if (s.notes.length > NOTES_MAX_LENGTH) add('notes', `Notes are too long: ${s.notes.length} characters, at most ${NOTES_MAX_LENGTH}`);
  return issues;
}

type Add = (field: string, message: string) => void;

/** The boot-menu prompt: absent, or whole milliseconds 0-60000 (fw_cfg carries 16 bits). */
export const BOOT_MENU_DELAY_MAX_MS = 60_000;
function validateBootMenuDelay(v: unknown, add: Add): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) add('bootMenuDelayMs', `Boot menu delay must be a number of milliseconds, not ${show(v)}`);
  else if (!Number.isInteger(v) || v < 0 || v > BOOT_MENU_DELAY_MAX_MS) {
    add('bootMenuDelayMs', `Boot menu delay must be a whole number of milliseconds from 0 (no prompt) to ${BOOT_MENU_DELAY_MAX_MS}, not ${v}`);
  }
}

function validateFirmware(fw: unknown, add: Add): void {
  if (fw === 'seabios') {
    const missing = seabiosMissing();
    if (missing) add('firmware', missing.replace('(--firmware builtin)', '("builtin")'));
    return;
  }
  if (fw === 'builtin') return;
  if (!isPlainObject(fw) || typeof fw.path !== 'string') {
    add('firmware', `Firmware must be "builtin", "seabios" or a ROM file path, not ${show(fw)}`);
    return;
  }
  if (!checkImage(fw.path, 'firmware.path', 'Firmware ROM', add)) return;
  const size = statSync(fw.path).size;
  if (size < ROM_MIN_BYTES || size > ROM_MAX_BYTES || size % ROM_MIN_BYTES !== 0) {
    add('firmware.path', `Firmware ROM ${fw.path} is ${formatBytes(size)}; a BIOS image is a multiple of 64 KiB between 64 KiB and 16 MiB`);
  }
}

function validateBootOrder(order: unknown, add: Add): void {
  if (typeof order !== 'string' || order === '') {
    add('bootOrder', 'Boot order is required: letters a (floppy), c (hard disk), d (CD-ROM), e.g. "cda"');
    return;
  }
  const used = new Set<string>();
  for (const ch of order) {
    if (!(ch in BOOT_DEVICES)) {
      add('bootOrder', `Boot order "${order}" contains "${ch}"; use only a (floppy), c (hard disk) and d (CD-ROM)`);
      return;
    }
    if (used.has(ch)) {
      add('bootOrder', `Boot order "${order}" lists ${BOOT_DEVICES[ch]} ("${ch}") twice`);
      return;
    }
    used.add(ch);
  }
}

function validateNic(nic: unknown, add: Add): void {
  if (!isPlainObject(nic)) { add('nic', 'Network settings must be an object {model, network}'); return; }
  const modelOk = (NIC_MODELS as readonly unknown[]).includes(nic.model);
  const networkOk = (NETWORK_MODES as readonly unknown[]).includes(nic.network);
  if (!modelOk) add('nic.model', `Unknown network adapter ${show(nic.model)}; choose one of ${NIC_MODELS.join(', ')}`);
  if (!networkOk) add('nic.network', `Unknown network mode ${show(nic.network)}; choose one of ${NETWORK_MODES.join(', ')}`);
  if (!modelOk || !networkOk) return;
  if (nic.model === 'none' && nic.network !== 'none') {
    add('nic.network', `Network "${nic.network}" needs a network adapter; choose an adapter or set the network to "none"`);
  }
  if (nic.network === 'lan') {
    const seg = nic.lanSegment;
    if (typeof seg !== 'string' || seg === '') add('nic.lanSegment', 'A LAN segment name is required for the "lan" network (VMs on the same segment see each other)');
    else if (!LAN_SEGMENT_PATTERN.test(seg)) add('nic.lanSegment', `LAN segment "${seg}" must be 1-32 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  // Port forwards, cable, capture file, MAC (main/net/nic-settings.ts).
  for (const issue of nicExtrasIssues(nic)) add(issue.field, issue.message);
}

function validateDisplay(display: unknown, add: Add): void {
  if (!isPlainObject(display)) { add('display', 'Display settings must be an object {adapter, vramMiB}'); return; }
  if (display.adapter !== 'std-vga') add('display.adapter', `Unknown display adapter ${show(display.adapter)}; the only adapter is std-vga`);
  const v = display.vramMiB;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < VRAM_MIN_MIB || v > VRAM_MAX_MIB || (v & (v - 1)) !== 0) {
    add('display.vramMiB', `Video memory must be a power of two between ${VRAM_MIN_MIB} and ${VRAM_MAX_MIB} MiB, not ${show(v)}`);
  }
}

/** Checks that `path` names a readable, non-empty regular file. Returns true when it does. */
function checkImage(path: unknown, field: string, label: string, add: Add): boolean {
  if (typeof path !== 'string' || path === '') { add(field, `${label}: the image path must be text`); return false; }
  if (!isAbsolute(path)) { add(field, `${label}: image path must be absolute, not "${path}"`); return false; }
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') add(field, `${label}: image file not found: ${path}`);
    else if (code === 'EACCES' || code === 'EPERM') add(field, `${label}: image file cannot be read (permission denied): ${path}`);
    else add(field, `${label}: image file cannot be read (${code ?? String(e)}): ${path}`);
    return false;
  }
  if (st.isDirectory()) { add(field, `${label}: ${path} is a folder, not an image file`); return false; }
  if (!st.isFile() && !st.isBlockDevice()) { add(field, `${label}: ${path} is not a regular file`); return false; }
  if (st.isFile() && st.size === 0) { add(field, `${label}: image file is empty: ${path}`); return false; }
  try {
    accessSync(path, constants.R_OK);
  } catch {
    add(field, `${label}: image file cannot be read (permission denied): ${path}`);
    return false;
  }
  return true;
}

/** ISO 9660: the primary volume descriptor's "CD001" at byte 0x8001, or the .iso extension. */
export function looksLikeCdImage(path: string): boolean {
  if (extname(path).toLowerCase() === '.iso') return true;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(5);
    const n = readSync(fd, buf, 0, 5, 0x8001);
    return n === 5 && buf.toString('latin1') === 'CD001';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function canonicalPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}

function describeField(field: string): string {
  switch (field) {
    case 'floppyA': return 'Floppy A';
    case 'floppyB': return 'Floppy B';
    case 'ide.primaryMaster': case 'ide.primaryMaster.path': return 'IDE primary master';
    case 'ide.primarySlave': case 'ide.primarySlave.path': return 'IDE primary slave';
    case 'ide.secondaryMaster': case 'ide.secondaryMaster.path': return 'IDE secondary master';
    case 'ide.secondarySlave': case 'ide.secondarySlave.path': return 'IDE secondary slave';
    default: return field;
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${+(n / 1024 ** 3).toFixed(2)} GiB`;
}
