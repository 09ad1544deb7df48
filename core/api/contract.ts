// The one typed API between the UI (renderer/) and the application (main/).
//
// It is pure data and types, so every layer may import it. Two transports carry it with the
// same semantics: Electron IPC through the preload's contextBridge, and a WebSocket for the
// web console (`perseus web`). Requests are {method, params} → result | ApiError; events flow
// from main to the UI.

export type VmPowerState = 'off' | 'starting' | 'running' | 'paused' | 'suspended' | 'stopping' | 'crashed';

export type GuestOsPreset = 'dos' | 'win9x' | 'linux' | 'other';
export const GUEST_OS_PRESETS: readonly GuestOsPreset[] = ['dos', 'win9x', 'linux', 'other'];

export type CpuModel = 'pentium2' | 'pentium-pro' | 'pentium' | '486';
export const CPU_MODELS: readonly CpuModel[] = ['pentium2', 'pentium-pro', 'pentium', '486'];

export type NicModel = 'ne2k-pci' | 'ne2k-isa' | 'rtl8139' | 'none';
export const NIC_MODELS: readonly NicModel[] = ['ne2k-pci', 'ne2k-isa', 'rtl8139', 'none'];

export type NetworkMode = 'nat' | 'lan' | 'none';
export const NETWORK_MODES: readonly NetworkMode[] = ['nat', 'lan', 'none'];

/** `builtin` is the project's own BIOS; `seabios` is Debian's; anything else is a ROM file path. */
export type FirmwareSetting = 'builtin' | 'seabios' | { path: string };

export type DisplayAdapter = 'std-vga';

export interface DriveSetting {
  kind: 'disk' | 'cdrom';
  /** Image path; null for an empty CD-ROM drive. */
  path: string | null;
  /**
   * Hard disks: 'nonpersistent' discards the guest's changes at power off (the image is
   * opened read-only under an in-memory overlay) and leaves the drive out of snapshots,
   * like VMware's independent-nonpersistent disks. Default 'persistent'.
   */
  mode?: 'persistent' | 'nonpersistent';
}

export type IdeSlot = 'primaryMaster' | 'primarySlave' | 'secondaryMaster' | 'secondarySlave';
export const IDE_SLOTS: readonly IdeSlot[] = ['primaryMaster', 'primarySlave', 'secondaryMaster', 'secondarySlave'];

/** A NAT port forward: connections to hostAddress:hostPort on the host reach guestPort in the guest. */
export interface PortForwardSetting {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  guestPort: number;
  /** Where the host listens: a loopback address (default 127.0.0.1) or, typed explicitly, 0.0.0.0 / :: (every interface). */
  hostAddress?: string;
}

export interface NicSettings {
  model: NicModel;
  network: NetworkMode;
  lanSegment?: string;
  /** Port forwards, `nat` network only. */
  forwards?: PortForwardSetting[];
  /** The virtual cable; false: the guest sees the link down. Default true. */
  cableConnected?: boolean;
  /** Record every frame to this pcap file (absolute path); null or absent: no capture. */
  capture?: string | null;
  /** The NIC's MAC address "52:54:00:12:34:56"; null or absent: a stable one derived from the VM id. */
  mac?: string | null;
}

export interface VmSettings {
  name: string;
  osPreset: GuestOsPreset;
  memoryMiB: number;
  cpuModel: CpuModel;
  firmware: FirmwareSetting;
  /** Boot devices in order: 'a' floppy, 'c' hard disk, 'd' CD-ROM, e.g. "cda". */
  bootOrder: string;
  /**
   * Boot menu: how long POST shows "Press F12 for the boot menu" (SeaBIOS: "Press ESC"), in
   * ms, 0-60000. 0 or absent: no prompt (the built-in BIOS still opens the menu for an Esc or
   * F12 pressed during POST).
   */
  bootMenuDelayMs?: number;
  floppyA: string | null;
  floppyB: string | null;
  ide: Record<IdeSlot, DriveSetting | null>;
  nic: NicSettings;
  display: { adapter: DisplayAdapter; vramMiB: number };
  notes: string;
}

export interface VmRecord extends VmSettings {
  id: string;
  createdAt: string;
  modifiedAt: string;
  state: VmPowerState;
}

export interface ValidationIssue {
  /** Dotted setting path, e.g. "memoryMiB" or "ide.primaryMaster.path". */
  field: string;
  message: string;
}

export interface VmStatus {
  id: string;
  state: VmPowerState;
  /** Guest instructions per second over the last status interval, in millions. */
  mips: number;
  instructions: number;
  diskActivity: boolean;
  netActivity: boolean;
  leds: { numLock: boolean; capsLock: boolean; scrollLock: boolean };
  /**
   * True while the guest's driver takes absolute pointer positions (the VMware backdoor
   * pointer): send 'mouse-abs' events and no pointer capture is needed. Absent or false: use
   * captured relative 'mouse' events.
   */
  absolutePointer?: boolean;
  /** Set when state is 'crashed': what happened, for the UI and the log. */
  error?: string;
}

export type InputEvent =
  /** A PS/2 key by KeyboardEvent.code ("KeyA", "Enter", "ControlLeft", ...). */
  | { type: 'key'; code: string; down: boolean }
  /** Relative mouse motion and buttons (bit 0 left, 1 right, 2 middle). */
  | { type: 'mouse'; dx: number; dy: number; dz: number; buttons: number }
  /**
   * Absolute pointer in 0..1 of the screen (left/top 0, right/bottom 1), for guests with an
   * absolute device (the VMware backdoor pointer, scaled to 0..0xFFFF there); buttons as above.
   */
  | { type: 'mouse-abs'; x: number; y: number; buttons: number; /** Wheel steps (positive: towards the user), optional. */ dz?: number }
  /** Text typed as keystrokes (Paste as keystrokes). */
  | { type: 'text'; text: string }
  /** Named key combination from the Send keys menu. */
  | { type: 'combo'; combo: 'ctrl-alt-del' | 'alt-tab' | 'print-screen' | `ctrl-alt-f${number}` };

/** A screen update: the full frame size and the rectangles that changed, RGBA8888. */
export interface ScreenUpdate {
  id: string;
  width: number;
  height: number;
  /** True when `rects` cover the whole frame (mode change, first frame). */
  full: boolean;
  rects: { x: number; y: number; w: number; h: number; rgba: Uint8Array }[];
}

export interface AppInfo {
  name: string;
  version: string;
  dataDir: string;
  transport: 'electron' | 'web';
}

/** A node of a VM's snapshot tree (listSnapshots returns them oldest first). */
export interface SnapshotNode {
  id: string;
  /** The parent node; null for a root. */
  parentId: string | null;
  name: string;
  description: string;
  /** ISO 8601. */
  createdAt: string;
  /** A PNG of the screen (at most 160 pixels wide) as a data: URL; null without one. */
  thumbnail: string | null;
  /** True for the node the VM continues from (the parent of its next snapshot). */
  isCurrent: boolean;
  /** False for a disks-only snapshot (taken while the VM was off): reverting boots afresh. */
  hasState: boolean;
}

/** Removable-media drives: floppy A:, floppy B:, and the first IDE CD-ROM drive. */
export type MediaDrive = 'fda' | 'fdb' | 'cdrom';
export const MEDIA_DRIVES: readonly MediaDrive[] = ['fda', 'fdb', 'cdrom'];

/** An image the user inserted or attached lately (most recent first). */
export interface RecentImage {
  path: string;
  kind: 'floppy' | 'cdrom' | 'disk';
  /** ISO 8601 of the last use. */
  lastUsedAt: string;
  /** False when the file is gone (the UI may grey it out). */
  exists: boolean;
}

export type DiskImageFormat = 'qcow2' | 'raw' | 'vmdk' | 'vdi' | 'vhd';
export const DISK_IMAGE_FORMATS: readonly DiskImageFormat[] = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhd'];

/** Long snapshot steps report progress; operations: take, revert, delete, suspend, resume. */
export type SnapshotOperation = 'take' | 'revert' | 'delete' | 'suspend' | 'resume';

/** Every request: params in, result out. */
export interface ApiMethods {
  appInfo: { params: Record<string, never>; result: AppInfo };
  listVms: { params: Record<string, never>; result: VmRecord[] };
  getVm: { params: { id: string }; result: VmRecord };
  /** Missing fields take the preset's defaults. */
  createVm: { params: Partial<VmSettings> & { name: string }; result: VmRecord };
  updateVm: { params: { id: string; patch: Partial<VmSettings> }; result: VmRecord };
  /** The caller has asked the user; keepFiles=false deletes disk images the VM owns. */
  deleteVm: { params: { id: string; keepFiles: boolean }; result: { deletedFiles: string[] } };
  validateSettings: { params: { id?: string; settings: Partial<VmSettings> }; result: ValidationIssue[] };
  powerOn: { params: { id: string }; result: VmStatus };
  powerOff: { params: { id: string }; result: VmStatus };
  /** ACPI power button: the guest shuts itself down. */
  shutdown: { params: { id: string }; result: VmStatus };
  reset: { params: { id: string }; result: VmStatus };
  pause: { params: { id: string }; result: VmStatus };
  resume: { params: { id: string }; result: VmStatus };
  getStatus: { params: { id: string }; result: VmStatus };
  sendInput: { params: { id: string; events: InputEvent[] }; result: null };
  /** The text-mode screen as lines of text ('' in graphics modes). */
  getScreenText: { params: { id: string }; result: string };
  /** Ask for a full screen update event (a UI that just attached). */
  requestFullFrame: { params: { id: string }; result: null };
  /** The VM's snapshot tree, whatever its power state. */
  listSnapshots: { params: { id: string }; result: SnapshotNode[] };
  /**
   * A snapshot as a child of the current node. Running or paused: a live snapshot (machine
   * state, RAM, disks, thumbnail; a running VM pauses briefly and runs on). Off: disks only.
   * Emits snapshot-progress, then snapshots-changed.
   */
  takeSnapshot: { params: { id: string; name: string; description?: string }; result: SnapshotNode };
  /**
   * Make `snapshotId` the current node; changes since the current node are discarded. A
   * running or paused VM continues from the snapshot's machine state at once (it stays
   * paused if it was); an off or suspended VM gets the snapshot's disks and, when it holds
   * machine state, the next powerOn resumes from it (the VM is 'suspended' meanwhile).
   */
  revertSnapshot: { params: { id: string; snapshotId: string }; result: VmStatus };
  /** Delete one node (its children move to its parent); no other snapshot changes. The caller asks the user first. */
  deleteSnapshot: { params: { id: string; snapshotId: string }; result: null };
  renameSnapshot: { params: { id: string; snapshotId: string; name: string; description?: string }; result: SnapshotNode };
  /**
   * Save the running (or paused) machine to disk and stop its worker: the VM becomes
   * 'suspended', also across app restarts, and powerOn resumes it exactly where it was.
   */
  suspend: { params: { id: string }; result: VmStatus };
  /**
   * Put an image into a floppy drive or the CD-ROM drive, running or not: a running guest
   * sees a media change. The VM's settings keep the new medium; the image joins the recent list.
   */
  insertMedia: { params: { id: string; drive: MediaDrive; path: string }; result: VmRecord };
  /** Empty a floppy drive or the CD-ROM drive (running or not); the guest sees the medium go. */
  ejectMedia: { params: { id: string; drive: MediaDrive }; result: VmRecord };
  /** Images used lately, most recent first; `kind` filters. */
  listRecentImages: { params: { kind?: RecentImage['kind'] }; result: RecentImage[] };
  /**
   * Create a blank disk image (fails when `path` exists). `path` is an absolute file path, or
   * a bare file name ("dos.qcow2") for the app's own images folder (<dataDir>/images, handy
   * for the web console, which cannot browse the host). `sizeMiB` 1..2097152 (2 TiB); the
   * result's path is absolute and sizeBytes the virtual size (vhd rounds up to its geometry).
   */
  createDisk: { params: { path: string; sizeMiB: number; format: DiskImageFormat }; result: { path: string; format: DiskImageFormat; sizeBytes: number } };
  /** Plug or unplug the virtual network cable, running or not; the VM's settings keep it. */
  setCableConnected: { params: { id: string; connected: boolean }; result: VmRecord };
}

export type ApiMethod = keyof ApiMethods;
export type ApiParams<M extends ApiMethod> = ApiMethods[M]['params'];
export type ApiResult<M extends ApiMethod> = ApiMethods[M]['result'];

export const API_METHODS: readonly ApiMethod[] = [
  'appInfo', 'listVms', 'getVm', 'createVm', 'updateVm', 'deleteVm', 'validateSettings',
  'powerOn', 'powerOff', 'shutdown', 'reset', 'pause', 'resume', 'getStatus',
  'sendInput', 'getScreenText', 'requestFullFrame',
  'listSnapshots', 'takeSnapshot', 'revertSnapshot', 'deleteSnapshot', 'renameSnapshot', 'suspend',
  'insertMedia', 'ejectMedia', 'listRecentImages', 'createDisk', 'setCableConnected',
];

export type ApiEvent =
  | { type: 'library-changed' }
  | { type: 'vm-state'; id: string; state: VmPowerState; error?: string }
  | { type: 'vm-status'; status: VmStatus }
  | { type: 'screen'; update: ScreenUpdate }
  | { type: 'log'; id?: string; level: 'info' | 'warn' | 'error'; message: string }
  /** A long snapshot step of VM `id`: `fraction` 0..1; `done` once the operation ended (ok or not). */
  | { type: 'snapshot-progress'; id: string; operation: SnapshotOperation; step: string; fraction: number; done: boolean; error?: string }
  /** VM `id`'s snapshot tree changed (take, revert, delete, rename): listSnapshots again. */
  | { type: 'snapshots-changed'; id: string }
  /** An application-menu command (Electron menu, or the web console's own menu) for the UI to carry out. */
  | { type: 'menu'; action: MenuAction; path?: string };

/** Commands of the application menu; `open-image` carries the chosen file as `path`. */
export type MenuAction =
  | 'new-vm' | 'open-image'
  | 'power-on' | 'power-off' | 'reset' | 'pause' | 'take-snapshot'
  | 'fullscreen' | 'scale-fit' | 'scale-1x' | 'scale-2x'
  | 'about';
export const MENU_ACTIONS: readonly MenuAction[] = [
  'new-vm', 'open-image', 'power-on', 'power-off', 'reset', 'pause', 'take-snapshot',
  'fullscreen', 'scale-fit', 'scale-1x', 'scale-2x', 'about',
];

export type ApiErrorCode = 'not-found' | 'invalid' | 'conflict' | 'bad-state' | 'unauthorized' | 'internal';

/** The error every transport rethrows on the client side. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly issues: ValidationIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What the UI holds: the same shape over Electron IPC and over the WebSocket. */
export interface PerseusClient {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  /** Subscribe to events; returns an unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/** What main implements once; both transports dispatch into it. */
export interface PerseusService {
  handle<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/** Wire messages (JSON for requests/replies; screen updates may travel as binary frames). */
export type WireRequest = { kind: 'request'; seq: number; method: ApiMethod; params: unknown };
export type WireReply =
  | { kind: 'reply'; seq: number; ok: true; result: unknown }
  | { kind: 'reply'; seq: number; ok: false; error: { code: ApiErrorCode; message: string; issues?: ValidationIssue[] } };
export type WireEvent = { kind: 'event'; event: ApiEvent };
/** WebSocket only: the first message a client sends; a wrong token closes with WS_CLOSE_UNAUTHORIZED. */
export type WireHello = { kind: 'hello'; token: string };
/** WebSocket only: the server's answer to an accepted hello. */
export type WireWelcome = { kind: 'welcome'; info: AppInfo };
export const WS_CLOSE_UNAUTHORIZED = 4401;
