// The decoder's door to the system side of the CPU (core/cpu/system, owned by the system
// engineer). Until those functions land this file holds minimal real-mode fallbacks so real
// mode works; the decoder only ever calls the names exported here.

import type { Cpu } from './cpu.js';
import { REG_EAX, REG_ECX, REG_EDX } from './cpu.js';
import { EXC_GP, EXC_UD, FLAG_AC, FLAG_IF, FLAG_TF, SEG_CS, SEG_SS } from './system/constants.js';

function descriptorOf(cpu: Cpu, selector: number): [number, number] {
  const table = selector & 4 ? cpu.ldtrBase : cpu.gdtrBase;
  const addr = (table + (selector & ~7)) | 0;
  return [cpu.readSystem32(addr), cpu.readSystem32((addr + 4) | 0)];
}

function loadFromDescriptor(cpu: Cpu, seg: number, selector: number): void {
  if ((selector & ~3) === 0) {
    if (seg === SEG_CS || seg === SEG_SS) cpu.fault(EXC_GP, 0);
    cpu.setSegment(seg, selector, 0, 0, 0);
    return;
  }
  const [lo, hi] = descriptorOf(cpu, selector);
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & 0x800000) limit = ((limit << 12) | 0xfff) | 0;
  cpu.setSegment(seg, selector, base, limit, (hi >>> 8) & 0xf0ff);
  if (seg === SEG_CS) {
    cpu.cpl = selector & 3;
    cpu.updateModes();
  }
}

export function deliverInterrupt(cpu: Cpu, vector: number, _kind: number, _errorCode: number): void {
  if (cpu.protectedMode || cpu.v86) cpu.fault(EXC_GP, vector * 8 + 2);
  const addr = vector * 4;
  if (addr + 3 > cpu.idtrLimit) cpu.fault(EXC_GP, 0);
  const ip = cpu.readSystem16((cpu.idtrBase + addr) | 0);
  const cs = cpu.readSystem16((cpu.idtrBase + addr + 2) | 0);
  const flags = cpu.getEflags();
  cpu.push16(flags);
  cpu.push16(cpu.segSel[SEG_CS]);
  cpu.push16(cpu.eip);
  cpu.flags &= ~(FLAG_IF | FLAG_TF | FLAG_AC);
  cpu.loadSegmentReal(SEG_CS, cs);
  cpu.eip = ip;
}

export function loadSegment(cpu: Cpu, seg: number, selector: number): void {
  if (cpu.protectedMode) loadFromDescriptor(cpu, seg, selector);
  else cpu.loadSegmentReal(seg, selector);
}

export function farJump(cpu: Cpu, selector: number, offset: number, _opsize32: boolean): void {
  if (cpu.protectedMode) loadFromDescriptor(cpu, SEG_CS, selector);
  else cpu.loadSegmentReal(SEG_CS, selector);
  cpu.eip = offset >>> 0;
}

export function farCall(cpu: Cpu, selector: number, offset: number, opsize32: boolean): void {
  const cs = cpu.segSel[SEG_CS];
  if (opsize32) {
    cpu.push32(cs);
    cpu.push32(cpu.eip);
  } else {
    cpu.push16(cs);
    cpu.push16(cpu.eip);
  }
  farJump(cpu, selector, offset, opsize32);
}

export function farReturn(cpu: Cpu, opsize32: boolean, imm: number): void {
  let ip: number, cs: number;
  if (opsize32) {
    ip = cpu.stackRead32(0);
    cs = cpu.stackRead32(4) & 0xffff;
    cpu.adjustSp(8 + imm);
  } else {
    ip = cpu.stackRead16(0);
    cs = cpu.stackRead16(2);
    cpu.adjustSp(4 + imm);
  }
  farJump(cpu, cs, ip, opsize32);
}

export function iret(cpu: Cpu, opsize32: boolean): void {
  if (cpu.protectedMode || cpu.v86) cpu.fault(EXC_GP, 0);
  let ip: number, cs: number, fl: number;
  if (opsize32) {
    ip = cpu.stackRead32(0);
    cs = cpu.stackRead32(4) & 0xffff;
    fl = cpu.stackRead32(8);
    cpu.adjustSp(12);
    fl = (fl & 0x257fd5) | (cpu.getEflags() & 0x1a0000);
  } else {
    ip = cpu.stackRead16(0);
    cs = cpu.stackRead16(2);
    fl = cpu.stackRead16(4);
    cpu.adjustSp(6);
    fl = (fl & 0x7fd5) | (cpu.getEflags() & 0xffff0000);
  }
  cpu.loadSegmentReal(SEG_CS, cs);
  cpu.eip = ip >>> 0;
  cpu.setEflags(fl);
  cpu.nmiBlocked = false;
}

export function executeSystem0F(cpu: Cpu, op2: number): void {
  const reg = cpu.modrmRegField;
  if (op2 === 0x01) {
    switch (reg) {
      case 2: case 3: { // LGDT / LIDT
        if (cpu.modrmIsReg) cpu.fault(EXC_UD);
        const limit = cpu.readLinear16(cpu.eaLinear);
        let base = cpu.readLinear32((cpu.eaLinear + 2) | 0);
        if (!cpu.opsize32) base &= 0xffffff;
        if (reg === 2) { cpu.gdtrBase = base; cpu.gdtrLimit = limit; } else { cpu.idtrBase = base; cpu.idtrLimit = limit; }
        return;
      }
      case 4: cpu.writeModrm16(cpu.cr0 & 0xffff); return; // SMSW
      case 6: { // LMSW: PE can be set but not cleared
        const v = cpu.readModrm16();
        cpu.cr0 = (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & 1);
        cpu.updateModes();
        return;
      }
      case 7: if (!cpu.modrmIsReg) { cpu.invalidatePage(cpu.eaLinear); return; } break;
    }
  }
  cpu.fault(EXC_UD);
}

export function movFromCr(cpu: Cpu, n: number): number {
  switch (n) {
    case 0: return cpu.cr0;
    case 2: return cpu.cr2;
    case 3: return cpu.cr3;
    case 4: return cpu.cr4;
  }
  return cpu.fault(EXC_UD);
}

export function movToCr(cpu: Cpu, n: number, v: number): void {
  switch (n) {
    case 0: cpu.cr0 = v | 0x10; cpu.flushTlb(true); cpu.updateModes(); return;
    case 2: cpu.cr2 = v; return;
    case 3: cpu.cr3 = v; cpu.flushTlb(false); return;
    case 4: cpu.cr4 = v; cpu.flushTlb(true); cpu.updateModes(); return;
  }
  cpu.fault(EXC_UD);
}

export function movFromDr(cpu: Cpu, n: number): number {
  return cpu.dr[n];
}

export function movToDr(cpu: Cpu, n: number, v: number): void {
  cpu.dr[n] = v;
}

export function lar(cpu: Cpu, selector: number): number {
  if ((selector & ~3) === 0) return -1;
  const [, hi] = descriptorOf(cpu, selector);
  return hi & 0x00f0ff00;
}

export function lsl(cpu: Cpu, selector: number): number {
  if ((selector & ~3) === 0) return -1;
  const [lo, hi] = descriptorOf(cpu, selector);
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & 0x800000) limit = ((limit << 12) | 0xfff) | 0;
  return limit >>> 0;
}

export function clts(cpu: Cpu): void {
  cpu.cr0 &= ~8;
}

export function rdmsr(cpu: Cpu): void {
  cpu.regs[REG_EAX] = 0;
  cpu.regs[REG_EDX] = 0;
}

export function wrmsr(_cpu: Cpu): void {}

export function cpuid(cpu: Cpu): void {
  const leaf = cpu.regs[REG_EAX];
  const r = cpu.regs;
  if (leaf === 0) {
    r[0] = 2; r[3] = 0x756e6547; r[2] = 0x49656e69; r[1] = 0x6c65746e; // GenuineIntel
  } else if (leaf === 1) {
    r[0] = 0x652; r[3] = 0; r[1] = 0; r[2] = 0x0183f9ff;
  } else {
    r[0] = r[1] = r[2] = r[3] = 0;
  }
  void REG_ECX;
}

export function rdtsc(cpu: Cpu): void {
  const t = cpu.instructionCount + cpu.tscOffset;
  cpu.regs[REG_EAX] = t % 0x100000000;
  cpu.regs[REG_EDX] = Math.floor(t / 0x100000000);
}

export function sysenter(cpu: Cpu): void {
  cpu.fault(EXC_UD);
}

export function sysexit(cpu: Cpu): void {
  cpu.fault(EXC_UD);
}

export function checkIoPermission(cpu: Cpu, _port: number, _size: number): void {
  cpu.fault(EXC_GP, 0);
}
