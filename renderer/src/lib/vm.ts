// Pure helpers of the views: which actions a power state allows, how validation issues map
// to form fields, and how the New VM form becomes createVm parameters.
import { toApiError } from '../../../core/api/wire.js';
import type {
  CpuModel, DiskImageFormat, GuestOsPreset, IdeSlot, InputEvent, MediaDrive, NicModel, SnapshotNode, ValidationIssue,
  VmPowerState, VmRecord, VmSettings,
} from '../../../core/api/contract.js';

export const PRESET_LABELS: Record<GuestOsPreset, string> = {
  dos: 'MS-DOS / FreeDOS',
  win9x: 'Windows 95 / 98 / ME',
  linux: 'Linux (i386)',
  other: 'Other',
};

/** The CPU models of the settings dialog (MMX comes with the Pentium II only, as on the real parts). */
export const CPU_MODEL_LABELS: Record<CpuModel, string> = {
  pentium2: 'Pentium II (family 6, MMX)',
  'pentium-pro': 'Pentium Pro (family 6, no MMX)',
  pentium: 'Pentium (P54C, no MMX)',
  '486': '486 (IntelDX4)',
};

/** The memory the main process's presets give a new VM (shown in the New VM form). */
export const PRESET_MEMORY_MIB: Record<GuestOsPreset, number> = { dos: 32, win9x: 64, linux: 256, other: 64 };
/** The new-disk size each preset suggests (MiB). */
export const PRESET_DISK_MIB: Record<GuestOsPreset, number> = { dos: 504, win9x: 2048, linux: 8192, other: 2048 };
/** The network card each preset gives a new VM. */
export const PRESET_NIC: Record<GuestOsPreset, NicModel> = { dos: 'ne2k-isa', win9x: 'ne2k-pci', linux: 'rtl8139', other: 'ne2k-pci' };
export const NIC_LABELS: Record<NicModel, string> = {
  'ne2k-isa': 'NE2000 (ISA)', 'ne2k-pci': 'NE2000 (PCI)', rtl8139: 'Realtek RTL8139', none: 'no network card',
};
export const DISK_FORMAT_LABELS: Record<DiskImageFormat, string> = {
  qcow2: 'QCOW2 (grows as used)', raw: 'Raw image (full size)', vmdk: 'VMDK (VMware)', vdi: 'VDI (VirtualBox)', vhd: 'VHD (Virtual PC)',
};

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

/** The service methods behind the power controls. */
export type Control = 'powerOn' | 'powerOff' | 'shutdown' | 'pause' | 'resume' | 'reset' | 'suspend';

export interface PowerActions {
  powerOn: boolean; powerOff: boolean; shutdown: boolean; pause: boolean; resume: boolean; reset: boolean;
  suspend: boolean; edit: boolean; remove: boolean;
}

/**
 * What the host's lifecycle (off → starting → running ⇄ paused → stopping → off; running or
 * paused → suspended, whose powerOn resumes) allows. A suspended VM can be powered off (its
 * saved state is discarded).
 */
export function powerActions(state: VmPowerState): PowerActions {
  const on = state === 'running' || state === 'paused';
  return {
    powerOn: state === 'off' || state === 'crashed' || state === 'suspended',
    powerOff: on || state === 'starting',
    shutdown: state === 'running',
    pause: state === 'running',
    resume: state === 'paused',
    reset: on,
    suspend: on,
    edit: true,
    remove: state === 'off' || state === 'crashed',
  };
}

/** The label of the power-on action: a suspended VM is resumed from its saved state. */
export function powerOnLabel(state: VmPowerState): string {
  return state === 'suspended' ? 'Resume' : 'Power on';
}

/** The Send keys menu: label and the combo the service presses. */
export const SEND_KEYS: { label: string; combo: Extract<InputEvent, { type: 'combo' }>['combo'] }[] = [
  { label: 'Ctrl+Alt+Del', combo: 'ctrl-alt-del' },
  ...Array.from({ length: 12 }, (_, i) => ({ label: `Ctrl+Alt+F${i + 1}`, combo: `ctrl-alt-f${i + 1}` as const })),
  { label: 'Alt+Tab', combo: 'alt-tab' },
  { label: 'Print Screen', combo: 'print-screen' },
];

export const MEDIA_DRIVE_LABELS: Record<MediaDrive, string> = { fda: 'Floppy A:', fdb: 'Floppy B:', cdrom: 'CD/DVD' };

/** The image in a removable-media drive of a VM (null: empty), and whether the drive exists. */
export function mediaIn(vm: VmSettings, drive: MediaDrive): { present: boolean; path: string | null } {
  if (drive === 'fda') return { present: true, path: vm.floppyA };
  if (drive === 'fdb') return { present: true, path: vm.floppyB };
  const slot = (['secondaryMaster', 'secondarySlave', 'primarySlave', 'primaryMaster'] as const).find((s) => vm.ide[s]?.kind === 'cdrom');
  return slot ? { present: true, path: vm.ide[slot]!.path } : { present: false, path: null };
}

/** The drive an image dropped onto the console goes to: CD images to the CD drive, floppies to A:. */
export function dropDriveFor(path: string): MediaDrive {
  return guessMediaKind(path) === 'cdrom' ? 'cdrom' : 'fda';
}

export interface SnapshotTreeNode { node: SnapshotNode; children: SnapshotTreeNode[]; depth: number }

/** The snapshot list as a forest (oldest first at every level); orphans become roots. */
export function snapshotTree(nodes: readonly SnapshotNode[]): SnapshotTreeNode[] {
  const byId = new Map<string, SnapshotTreeNode>();
  for (const node of nodes) byId.set(node.id, { node, children: [], depth: 0 });
  const roots: SnapshotTreeNode[] = [];
  for (const node of nodes) {
    const t = byId.get(node.id)!;
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    if (parent && parent !== t) parent.children.push(t);
    else roots.push(t);
  }
  const setDepth = (list: SnapshotTreeNode[], depth: number, seen: Set<string>) => {
    for (const t of list) {
      if (seen.has(t.node.id)) continue;
      seen.add(t.node.id);
      t.depth = depth;
      setDepth(t.children, depth + 1, seen);
    }
  };
  setDepth(roots, 0, new Set());
  return roots;
}

/** The tree in display order (depth first), for keyboard navigation. */
export function flattenTree(roots: readonly SnapshotTreeNode[]): SnapshotTreeNode[] {
  const out: SnapshotTreeNode[] = [];
  const seen = new Set<string>();
  const walk = (list: readonly SnapshotTreeNode[]) => {
    for (const t of list) {
      if (seen.has(t.node.id)) continue;
      seen.add(t.node.id);
      out.push(t);
      walk(t.children);
    }
  };
  walk(roots);
  return out;
}

/** A name for the next snapshot: "Snapshot N" one above the highest such name. */
export function nextSnapshotName(nodes: readonly SnapshotNode[]): string {
  let n = 0;
  for (const s of nodes) {
    const m = /^Snapshot (\d+)$/.exec(s.name);
    if (m) n = Math.max(n, Number(m[1]));
  }
  return `Snapshot ${n + 1}`;
}

/** The recorded image a VM boots from (for a library entry's subtitle). */
export function bootMediaSummary(vm: VmRecord): string {
  const fd = vm.floppyA ? vm.floppyA.split(/[\\/]/).pop() : null;
  const cd = mediaIn(vm, 'cdrom').path?.split(/[\\/]/).pop() ?? null;
  return [fd, cd].filter(Boolean).join(', ');
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
  /** Or a new blank disk, created (createDisk) before the VM. */
  newDisk?: { create: boolean; sizeMiB: number; format: DiskImageFormat; path: string };
}

/** The file name a new disk of this VM gets in the data directory. */
export function newDiskPath(dataDir: string, vmName: string, format: DiskImageFormat): string {
  const slug = vmName.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'vm';
  const ext = format === 'raw' ? 'img' : format;
  const sep = dataDir.includes('\\') && !dataDir.includes('/') ? '\\' : '/';
  return `${dataDir.replace(/[\\/]+$/, '')}${sep}${slug}-disk.${ext}`;
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
  const disk = form.newDisk?.create ? form.newDisk.path.trim() : form.diskPath.trim();
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
  if (issueField.startsWith('ide.primaryMaster')) return form.diskPath.trim() || form.newDisk?.create ? 'diskPath' : 'imagePath';
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
