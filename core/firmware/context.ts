// Register, flag and guest-memory access for the firmware services (real mode and V86).

import type { PcMachine } from '../board/pc.js';
import type { Cpu } from '../cpu/cpu.js';

export const AX = 0, CX = 1, DX = 2, BX = 3, SP = 4, BP = 5, SI = 6, DI = 7;
export const ES = 0, CS = 1, SS = 2, DS = 3;
export const AL = 0, AH = 1, CL = 4, CH = 5, DL = 8, DH = 9, BL = 12, BH = 13;
export const CF = 0x1, ZF = 0x40, IF = 0x200;

export class FirmwareContext {
  readonly cpu: Cpu;
  constructor(readonly machine: PcMachine) {
    this.cpu = machine.cpu;
  }
  r16(r: number): number { return this.cpu.reg16[r * 2]; }
  set16(r: number, v: number): void { this.cpu.reg16[r * 2] = v; }
  r8(i: number): number { return this.cpu.reg8[i]; }
  set8(i: number, v: number): void { this.cpu.reg8[i] = v; }
  r32(r: number): number { return this.cpu.regs[r] >>> 0; }
  set32(r: number, v: number): void { this.cpu.regs[r] = v | 0; }
  seg(s: number): number { return this.cpu.segSel[s]; }
  segBase(s: number): number { return this.cpu.segBase[s] >>> 0; }

  /** Linear address of the FLAGS image of the interrupt frame (SS:SP+4 at the trap). */
  private frameFlagsAddr(): number {
    return (this.segBase(SS) + ((this.r16(SP) + 4) & 0xffff)) >>> 0;
  }
  /** Set or clear bits in the caller's FLAGS (restored by IRET). */
  setCallerFlag(mask: number, on: boolean): void {
    const a = this.frameFlagsAddr();
    const f = this.cpu.readLinear16(a);
    this.cpu.writeLinear16(a, on ? f | mask : f & ~mask);
  }
  /** Carry for the caller plus AH status, the usual BIOS error convention. */
  result(ok: boolean, ah = ok ? 0 : 1): void {
    this.set8(AH, ah);
    this.setCallerFlag(CF, !ok);
  }
  /** The stub's live CF: true makes it wait (sti; hlt) and call again. */
  setRetry(retry: boolean): void {
    this.cpu.materializeFlags();
    this.cpu.flags = retry ? this.cpu.flags | CF : this.cpu.flags & ~CF;
  }

  // Guest memory by linear address (translated when paging is on, as in V86 mode).
  private get paging(): boolean { return (this.cpu.cr0 & 0x80000000) !== 0; }
  read8(lin: number): number {
    return this.paging ? this.cpu.readLinear8(lin) : this.machine.memory.read8((lin & this.machine.memory.a20Mask) >>> 0);
  }
  write8(lin: number, v: number): void {
    if (this.paging) this.cpu.writeLinear8(lin, v);
    else this.machine.memory.write8((lin & this.machine.memory.a20Mask) >>> 0, v);
  }
  read16(lin: number): number { return this.read8(lin) | (this.read8(lin + 1) << 8); }
  write16(lin: number, v: number): void { this.write8(lin, v & 0xff); this.write8(lin + 1, (v >> 8) & 0xff); }
  read32(lin: number): number { return (this.read16(lin) | (this.read16(lin + 2) << 16)) >>> 0; }
  write32(lin: number, v: number): void { this.write16(lin, v & 0xffff); this.write16(lin + 2, v >>> 16); }
  writeBytes(lin: number, data: Uint8Array): void {
    if (!this.paging) { this.machine.memory.writeBytes((lin & this.machine.memory.a20Mask) >>> 0, data); return; }
    for (let i = 0; i < data.length; i++) this.cpu.writeLinear8(lin + i, data[i]);
  }
  readBytes(lin: number, out: Uint8Array): void {
    if (!this.paging) { this.machine.memory.readBytes((lin & this.machine.memory.a20Mask) >>> 0, out); return; }
    for (let i = 0; i < out.length; i++) out[i] = this.cpu.readLinear8(lin + i);
  }
  /** Linear address of seg:off. */
  lin(seg: number, off: number): number { return ((this.segBase(seg) + (off & 0xffff)) >>> 0); }

  // BIOS data area (physical; always low RAM).
  bda8(off: number): number { return this.machine.memory.read8(0x400 + off); }
  setBda8(off: number, v: number): void { this.machine.memory.write8(0x400 + off, v & 0xff); }
  bda16(off: number): number { return this.machine.memory.read16(0x400 + off); }
  setBda16(off: number, v: number): void { this.machine.memory.write16(0x400 + off, v & 0xffff); }
  bda32(off: number): number { return this.machine.memory.read32(0x400 + off) >>> 0; }
  setBda32(off: number, v: number): void { this.machine.memory.write32(0x400 + off, v | 0); }

  /** Jump the CPU to seg:off in real mode (boot). */
  jumpReal(seg: number, off: number): void {
    this.cpu.loadSegmentReal(CS, seg);
    this.cpu.eip = off;
  }
}
