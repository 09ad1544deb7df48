// What a running machine offers to its host (the VM worker in main/hypervisor, `perseus run`,
// and tests). The board (core/board/pc.ts) implements it; hosts program against this only.

import type { InputEvent } from '../api/contract.js';
import type { BlockDevice } from '../disk/block.js';

/** Host side of a serial port (stdio, file, socket, a test buffer). */
export interface SerialBackend {
  /** Bytes the guest transmitted. */
  write(data: Uint8Array): void;
  /** Bytes waiting for the guest to receive (polled by the UART); null when none. */
  poll(): Uint8Array | null;
}

/** Host side of a network adapter: Ethernet frames in and out. */
export interface NetworkBackend {
  send(frame: Uint8Array): void;
  /** Frames for the guest (polled by the NIC); null when none. */
  receive(): Uint8Array | null;
  /** Link state as the guest sees it ("cable connected"). */
  readonly linkUp: boolean;
}

/** Wall-clock and monotonic time; virtual time in deterministic runs. */
export interface HostClock {
  /** Milliseconds since the Unix epoch (RTC initial value). */
  wallTimeMs(): number;
  /** Monotonic milliseconds (pacing the virtual clock to real time). */
  monotonicMs(): number;
}

export interface MachineConfig {
  memoryMiB: number;
  cpuModel: 'pentium2' | 'pentium-pro' | 'pentium' | '486';
  /** BIOS image (mapped below 4 GiB and its last 128 KiB at 0xE0000). */
  biosRom: Uint8Array;
  /** VGA option ROM at 0xC0000, or null when the BIOS provides video itself. */
  vgaRom: Uint8Array | null;
  /** Boot order letters: a floppy, c disk, d CD-ROM. */
  bootOrder: string;
  /** How long the firmware shows its boot-menu prompt (ms, through fw_cfg); 0 or absent: none. */
  bootMenuWaitMs?: number;
  floppy: [BlockDevice | null, BlockDevice | null];
  /** IDE primary master, primary slave, secondary master, secondary slave. */
  ide: [IdeAttachment | null, IdeAttachment | null, IdeAttachment | null, IdeAttachment | null];
  nic: { model: 'ne2k-pci' | 'ne2k-isa' | 'rtl8139' | 'none'; backend: NetworkBackend | null; mac?: readonly number[] };
  /** COM1..COM4 backends (null: port present, nothing attached). */
  serial: (SerialBackend | null)[];
  clock: HostClock;
  /** Virtual time derived only from executed instructions (reproducible runs). */
  deterministic: boolean;
  /** Run hot 32-bit code as compiled blocks (core/cpu/jit); default true. */
  jit?: boolean;
  /** Debug ports 0x402/0xE9 and device warnings. */
  log(message: string): void;
}

export interface IdeAttachment {
  kind: 'disk' | 'cdrom';
  device: BlockDevice | null;
}

export interface ScreenInfo {
  width: number;
  height: number;
  /** RGBA8888, width*height*4 bytes, owned by the machine (may be a SharedArrayBuffer view). */
  rgba: Uint8ClampedArray;
  /** Text-mode contents (rows joined by '\n'), '' in graphics modes. */
  text: string;
  /** The display mode: e.g. "text 80x25", "vga 320x200x8", "vbe 800x600x32". */
  mode: string;
}

export interface DirtyRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type RunStop = 'budget' | 'halted' | 'poweroff' | 'reset' | 'breakpoint';

export interface Machine {
  /** Run up to `instructions` guest instructions (fewer if the guest halts or powers off). */
  run(instructions: number): RunStop;
  /** Guest instructions executed since power-on. */
  readonly instructionCount: number;
  /** Render pending video changes; returns the rectangles that changed since the last call. */
  updateScreen(): DirtyRect[];
  screen(): ScreenInfo;
  input(event: InputEvent): void;
  /** ACPI power button. */
  powerButton(): void;
  reset(): void;
  /** Change removable media (floppy drive 0/1 or the CD-ROM at an IDE index). */
  changeMedia(slot: { floppy: 0 | 1 } | { ide: 0 | 1 | 2 | 3 }, device: BlockDevice | null): void;
  /** Declared state of the whole machine (CPU, devices, RAM) as a state file. */
  saveState(meta?: Record<string, unknown>): Uint8Array;
  /** Load a state file; throws StateError and changes nothing when it does not fit. */
  loadState(file: Uint8Array): void;
  readonly poweredOff: boolean;
  /** Keyboard LEDs and activity for the status bar. */
  /** absolutePointer: the guest takes absolute pointer input (a vmmouse driver enabled it). */
  status(): { leds: { numLock: boolean; capsLock: boolean; scrollLock: boolean }; diskActivity: boolean; netActivity: boolean; absolutePointer?: boolean };
}
