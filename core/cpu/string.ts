// String instructions (MOVS CMPS STOS LODS SCAS INS OUTS) with REP/REPE/REPNE. A repeated
// instruction runs at most REP_CHUNK iterations per step and then restarts itself (EIP back at
// the prefix), so interrupts are taken between chunks just as hardware takes them between
// iterations, and registers are always consistent when a fault interrupts it.

import type { Cpu } from './cpu.js';
import { REG_EAX, REG_ECX, REG_EDI, REG_EDX, REG_ESI } from './cpu.js';
import { arith } from './alu.js';
import { checkIo, portIn, portOut } from './exec.js';
import { FLAG_DF, SEG_DS, SEG_ES } from './system/constants.js';

const REP_CHUNK = 4096;

function readN(c: Cpu, lin: number, size: number): number {
  return size === 1 ? c.readLinear8(lin) : size === 2 ? c.readLinear16(lin) : c.readLinear32(lin);
}

function writeN(c: Cpu, lin: number, size: number, v: number): void {
  if (size === 1) c.writeLinear8(lin, v);
  else if (size === 2) c.writeLinear16(lin, v);
  else c.writeLinear32(lin, v);
}

export function stringOp(c: Cpu, op: number): void {
  const size = (op & 1) === 0 ? 1 : c.opsize32 ? 4 : 2;
  const top = size * 8 - 1;
  const delta = (c.flags & FLAG_DF) !== 0 ? -size : size;
  const a32 = c.addrsize32;
  const regs = c.regs;
  const r16 = c.reg16;
  const rep = c.repPrefix;
  const srcSeg = c.segOverride >= 0 ? c.segOverride : SEG_DS;
  const srcBase = c.segBase[srcSeg];
  const dstBase = c.segBase[SEG_ES];
  const kind = op & 0xfe;
  if (kind === 0x6c || kind === 0x6e) checkIo(c, r16[REG_EDX * 2], size);

  let n = 0;
  for (;;) {
    if (rep !== 0) {
      const count = a32 ? regs[REG_ECX] : r16[REG_ECX * 2];
      if (count === 0) return;
      if (n === REP_CHUNK) {
        c.eip = c.startEip;
        return;
      }
    }
    const si = a32 ? regs[REG_ESI] : r16[REG_ESI * 2];
    const di = a32 ? regs[REG_EDI] : r16[REG_EDI * 2];
    if (kind === 0xa4 || kind === 0xa6 || kind === 0xac || kind === 0x6e) c.checkLimit(srcSeg, si, size);
    if (kind !== 0xac && kind !== 0x6e) c.checkLimit(SEG_ES, di, size);
    let stop = false;
    switch (kind) {
      case 0xa4: { // MOVS
        const v = readN(c, (srcBase + si) | 0, size);
        writeN(c, (dstBase + di) | 0, size, v);
        advance(c, a32, REG_ESI, si, delta);
        advance(c, a32, REG_EDI, di, delta);
        break;
      }
      case 0xa6: { // CMPS
        const a = readN(c, (srcBase + si) | 0, size);
        const b = readN(c, (dstBase + di) | 0, size);
        arith(c, 7, a, b, top);
        advance(c, a32, REG_ESI, si, delta);
        advance(c, a32, REG_EDI, di, delta);
        stop = rep === 1 ? c.getZF() === 0 : c.getZF() !== 0;
        break;
      }
      case 0xaa: { // STOS
        const v = size === 1 ? c.reg8[0] : size === 2 ? r16[0] : regs[REG_EAX];
        writeN(c, (dstBase + di) | 0, size, v);
        advance(c, a32, REG_EDI, di, delta);
        break;
      }
      case 0xac: { // LODS
        const v = readN(c, (srcBase + si) | 0, size);
        if (size === 1) c.reg8[0] = v;
        else if (size === 2) r16[0] = v;
        else regs[REG_EAX] = v;
        advance(c, a32, REG_ESI, si, delta);
        break;
      }
      case 0xae: { // SCAS
        const a = size === 1 ? c.reg8[0] : size === 2 ? r16[0] : regs[REG_EAX];
        const b = readN(c, (dstBase + di) | 0, size);
        arith(c, 7, a, b, top);
        advance(c, a32, REG_EDI, di, delta);
        stop = rep === 1 ? c.getZF() === 0 : c.getZF() !== 0;
        break;
      }
      case 0x6c: { // INS: the destination is checked before the port is read
        const lin = (dstBase + di) | 0;
        if (c.pagingOn) c.probeWrite(lin, size);
        const v = portIn(c, r16[REG_EDX * 2], size);
        writeN(c, lin, size, v);
        advance(c, a32, REG_EDI, di, delta);
        break;
      }
      default: { // OUTS
        const v = readN(c, (srcBase + si) | 0, size);
        portOut(c, r16[REG_EDX * 2], size, v);
        advance(c, a32, REG_ESI, si, delta);
        break;
      }
    }
    if (rep === 0) return;
    if (a32) regs[REG_ECX] = regs[REG_ECX] - 1;
    else r16[REG_ECX * 2] = r16[REG_ECX * 2] - 1;
    n++;
    if (stop && (kind === 0xa6 || kind === 0xae)) return;
  }
}

function advance(c: Cpu, a32: boolean, reg: number, value: number, delta: number): void {
  if (a32) c.regs[reg] = (value + delta) | 0;
  else c.reg16[reg * 2] = value + delta;
}
