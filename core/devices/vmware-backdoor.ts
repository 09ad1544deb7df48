// The VMware "backdoor" I/O port (0x5658) with its absolute pointer (vmmouse), as guests'
// vmmouse drivers (Linux, Xorg, Windows VMware Tools) use it.
//
// Protocol (public documentation of the VMware backdoor): the guest loads EAX with the magic
// 0x564D5868 ("VMXh"), ECX (low 16 bits) with a command, EBX with its argument, DX with the
// port, and executes a 32-bit IN. The host answers in EAX, EBX, ECX and EDX. Commands here:
//   10 GETVERSION          EAX = version, EBX = the magic (a guest's "am I in VMware?" test)
//   39 ABSPOINTER_DATA     EBX = words wanted (1..4): EAX, EBX, ECX, EDX get the queue's next words
//   40 ABSPOINTER_STATUS   EAX = words in the queue, or 0xFFFF0000 after an error
//   41 ABSPOINTER_COMMAND  EBX: ENABLE ("READ_ID": queue the version id), DISABLE, REQUEST_ABSOLUTE,
//                          REQUEST_RELATIVE
// A pointer event queues 4 words: buttons (+0x10000 for relative packets), x, y (0..0xFFFF in
// absolute mode) and z (wheel, signed). The vmmouse drivers read the queue when a PS/2 mouse
// interrupt arrives, so the board sends a PS/2 packet with each event.
//
// Wiring: new VmwareBackdoor(cpu.regs); io.register('vmware-backdoor', 0x5658, 4, backdoor).
// The CPU's IN instruction calls read32 before it writes EAX, so this device reads and sets
// EBX, ECX and EDX in the register file directly and returns the new EAX. The state lives in
// the board's state section (absoluteMode, queue).

import type { PortHandler } from '../bus/io.js';

export const BACKDOOR_PORT = 0x5658;
export const BACKDOOR_MAGIC = 0x564d5868;
export const BACKDOOR_VERSION = 6;

export const CMD_GETVERSION = 10;
export const CMD_ABSPOINTER_DATA = 39;
export const CMD_ABSPOINTER_STATUS = 40;
export const CMD_ABSPOINTER_COMMAND = 41;

export const VMMOUSE_CMD_ENABLE = 0x45414552; // "READ_ID"
export const VMMOUSE_CMD_DISABLE = 0x000000f5;
export const VMMOUSE_CMD_REQUEST_RELATIVE = 0x4c455252;
export const VMMOUSE_CMD_REQUEST_ABSOLUTE = 0x53424152;
/** What the guest reads after ENABLE to confirm the device. */
export const VMMOUSE_VERSION_ID = 0x3442554a;
export const VMMOUSE_ERROR = 0xffff0000;
export const VMMOUSE_RELATIVE_PACKET = 0x00010000;
export const VMMOUSE_LEFT = 0x20;
export const VMMOUSE_RIGHT = 0x10;
export const VMMOUSE_MIDDLE = 0x08;

/** Queue capacity in words (QEMU's is the same size). */
export const QUEUE_WORDS = 1024;

// Register-file indices (core/cpu's REG_* order: EAX ECX EDX EBX ...).
const EAX = 0, ECX = 1, EDX = 2, EBX = 3;

export type VmmouseMode = 'off' | 'relative' | 'absolute';
const MODE_OFF = 0, MODE_RELATIVE = 1, MODE_ABSOLUTE = 2;

export class VmwareBackdoor implements PortHandler {
  /** 0 off (PS/2 only), 1 relative, 2 absolute: saved in the board's state section. */
  mode = MODE_OFF;
  /** Queued words not yet read by the guest. */
  queue: number[] = [];
  /** Set by a bad request; status reads it once as VMMOUSE_ERROR. */
  private error = false;

  constructor(private readonly regs: Int32Array) {}

  reset(): void {
    this.mode = MODE_OFF;
    this.queue = [];
    this.error = false;
  }

  get pointerMode(): VmmouseMode {
    return this.mode === MODE_ABSOLUTE ? 'absolute' : this.mode === MODE_RELATIVE ? 'relative' : 'off';
  }

  /** True when the guest's driver asked for absolute positions. */
  get absolute(): boolean {
    return this.mode === MODE_ABSOLUTE;
  }

  /**
   * An absolute pointer event from the host (x, y in 0..1, buttons bit 0 left, 1 right,
   * 2 middle, dz wheel). Returns false when the guest does not listen (no driver enabled it).
   */
  pointer(x: number, y: number, buttons: number, dz = 0): boolean {
    if (this.mode !== MODE_ABSOLUTE) return false;
    if (this.queue.length + 4 > QUEUE_WORDS) return true; // the guest is not reading: drop, as hardware would
    const scale = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 0xffff);
    const b = ((buttons & 1) ? VMMOUSE_LEFT : 0) | ((buttons & 2) ? VMMOUSE_RIGHT : 0) | ((buttons & 4) ? VMMOUSE_MIDDLE : 0);
    this.queue.push(b, scale(x), scale(y), dz | 0);
    return true;
  }

  read8(): number {
    return 0xff;
  }

  read16(): number {
    return 0xffff;
  }

  read32(): number {
    const r = this.regs;
    const eax = r[EAX]! >>> 0;
    if (eax !== BACKDOOR_MAGIC) return eax;
    const cmd = r[ECX]! & 0xffff;
    const arg = r[EBX]! >>> 0;
    switch (cmd) {
      case CMD_GETVERSION:
        r[EBX] = BACKDOOR_MAGIC;
        return BACKDOOR_VERSION;
      case CMD_ABSPOINTER_STATUS:
        if (this.error) {
          this.error = false;
          return VMMOUSE_ERROR;
        }
        return this.queue.length;
      case CMD_ABSPOINTER_DATA: {
        if (arg < 1 || arg > 4 || arg > this.queue.length) {
          this.error = true;
          return eax;
        }
        const words = this.queue.splice(0, arg);
        // Words go to EAX, EBX, ECX, EDX in that order; registers not filled keep their value.
        if (words.length > 1) r[EBX] = words[1]!;
        if (words.length > 2) r[ECX] = words[2]!;
        if (words.length > 3) r[EDX] = words[3]!;
        return words[0]! >>> 0;
      }
      case CMD_ABSPOINTER_COMMAND:
        switch (arg) {
          case VMMOUSE_CMD_ENABLE:
            this.mode = this.mode === MODE_OFF ? MODE_RELATIVE : this.mode;
            this.queue = [VMMOUSE_VERSION_ID];
            break;
          case VMMOUSE_CMD_DISABLE:
            this.mode = MODE_OFF;
            this.queue = [];
            break;
          case VMMOUSE_CMD_REQUEST_ABSOLUTE:
            if (this.mode !== MODE_OFF) this.mode = MODE_ABSOLUTE;
            break;
          case VMMOUSE_CMD_REQUEST_RELATIVE:
            if (this.mode !== MODE_OFF) this.mode = MODE_RELATIVE;
            break;
          default:
            this.error = true;
        }
        return eax;
      default:
        // Other backdoor commands (clipboard, time, ...) are not offered: EAX comes back unchanged.
        return eax;
    }
  }

  /** The queue as saved in a state file. */
  get queueWords(): Uint32Array {
    return Uint32Array.from(this.queue, (w) => w >>> 0);
  }

  set queueWords(words: Uint32Array) {
    this.queue = Array.from(words.subarray(0, QUEUE_WORDS), (w) => w | 0);
  }
}
