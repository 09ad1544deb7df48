// Instruction dispatch: one handler per opcode byte in two tables, one per operand size, so
// the hot instructions (MOV, ALU, INC/DEC, PUSH/POP, Jcc, CALL/RET, LEA, TEST, shifts, the
// common 0F forms) run in small functions specialised for their operand size, with the
// register-register form decided on the ModRM byte before any operand decoding. V8 inlines
// the fetch and memory fast paths into these small handlers (it cannot inside the one big
// switch of exec.ts, whose inlining budget runs out early). Everything else, and every
// prefixed byte, goes to exec.ts, which stays the reference implementation; the handlers
// here keep its rules (memory written before registers, read-modify-write operands checked
// for writability before anything changes, so a fault leaves the instruction restartable).

import type { Cpu } from './cpu.js';
import { LZ_NONE, PARITY, REG_EAX } from './cpu.js';
import { arith, dec, div1, imulTrunc, inc, mul1, neg, shift } from './alu.js';
import { execute0F } from './exec0f.js';
import { checkLock, dataLinear, decodeModrm, ea32Fetch, execute, getRmV, group5, IS_PREFIX, prefixes, R8, setRmV } from './exec.js';
import { EXC_UD, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS } from './system/constants.js';

type Handler = (c: Cpu, op: number) => void;

/** Handlers for opsize 16 and opsize 32 (the table is picked per instruction). */
const OPS16: Handler[] = new Array<Handler>(256);
const OPS32: Handler[] = new Array<Handler>(256);

/**
 * Execute one instruction. Between instructions the prefix state is at its defaults
 * (opsize32 = addrsize32 = code32, no override, REP or LOCK): the prefix handlers restore
 * it after their instruction, Cpu.run after a fault, and updateModes/setSegment keep the
 * sizes in step with code32.
 */
export function step(c: Cpu): void {
  const op = c.fetch8();
  if (!c.code32) {
    OPS16[op](c, op);
    return;
  }
  // The hottest opcodes are called directly (a known target that V8 can inline); the table
  // call for the rest goes through V8's generic call path, which costs measurably more.
  switch (op) {
    case 0x89: movEvGv32(c); return;
    case 0x8b: movGvEv32(c); return;
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: aluEvGv32(c, op); return;
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: aluGvEv32(c, op); return;
    case 0xc1: case 0xd1: case 0xd3: shiftEv32(c, op); return;
    case 0x81: case 0x83: grp1Ev32(c, op); return;
    case 0x8d: lea32(c); return;
    case 0x74: case 0x75: jcc8_32(c, op); return;
    default: OPS32[op](c, op);
  }
}

function generic(c: Cpu, op: number): void {
  execute(c, op);
}

/** LOCK, REP or several prefixes: consume them all, then dispatch on the operand size. */
function prefixed(c: Cpu, op: number): void {
  op = prefixes(c, op);
  if (c.lockPrefix) checkLock(c, op);
  if (c.opsize32) OPS32[op](c, op);
  else OPS16[op](c, op);
  c.resetPrefixes();
}

/** After one operand-size or segment prefix: the common case is the opcode itself. */
function afterPrefix(c: Cpu): void {
  let op = c.fetch8();
  if (IS_PREFIX[op] !== 0) {
    op = prefixes(c, op, 1);
    if (c.lockPrefix) checkLock(c, op);
  }
  if (c.opsize32) OPS32[op](c, op);
  else OPS16[op](c, op);
  c.resetPrefixes();
}

function opsizePrefix(c: Cpu): void {
  c.opsize32 = !c.code32;
  afterPrefix(c);
}

function addrsizePrefix(c: Cpu): void {
  c.addrsize32 = !c.code32;
  afterPrefix(c);
}

function segPrefix(c: Cpu, op: number): void {
  c.segOverride = SEG_OF_PREFIX[op];
  afterPrefix(c);
}

const SEG_OF_PREFIX = new Int8Array(256);
SEG_OF_PREFIX[0x26] = SEG_ES;
SEG_OF_PREFIX[0x2e] = SEG_CS;
SEG_OF_PREFIX[0x36] = SEG_SS;
SEG_OF_PREFIX[0x3e] = SEG_DS;
SEG_OF_PREFIX[0x64] = SEG_FS;
SEG_OF_PREFIX[0x65] = SEG_GS;

// ------------------------------------------------------------------ operand helpers

/**
 * Decode a memory ModRM (mod != 3), check `size` bytes against the segment limit; returns the
 * linear address. The 32-bit form leaves only eaSeg behind (the handlers here need nothing else).
 */
function memOperand(c: Cpu, modrm: number, size: number): number {
  if (!c.addrsize32) {
    decodeModrm(c, modrm);
    c.checkLimit(c.eaSeg, c.eaOffset, size);
    return c.eaLinear;
  }
  const off = ea32(c, modrm);
  const seg = c.eaSeg;
  c.checkLimit(seg, off, size);
  return (c.segBase[seg] + off) | 0;
}

/**
 * Offset of a 32-bit-address memory operand (mod != 3, SIB and displacement); sets eaSeg.
 * When the longest tail (SIB + disp32) lies in the fetch window, the bytes are read straight
 * from it with one check instead of one per byte.
 */
function ea32(c: Cpu, modrm: number): number {
  const eip = c.eip;
  if (eip < c.fetchEipLo || eip + 5 > c.fetchEipHi) return ea32Fetch(c, modrm);
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const regs = c.regs;
  const m = c.mem;
  const start = c.fetchAdj + eip;
  let i = start;
  let off: number;
  let seg = SEG_DS;
  if (rm === 4) {
    const sib = m[i++];
    const base = sib & 7;
    const index = (sib >> 3) & 7;
    off = index === 4 ? 0 : regs[index] << (sib >> 6);
    if (base === 5 && mod === 0) {
      off = (off + (m[i] | (m[i + 1] << 8) | (m[i + 2] << 16) | (m[i + 3] << 24))) | 0;
      i += 4;
    } else {
      off = (off + regs[base]) | 0;
      if (base === 4 || base === 5) seg = SEG_SS;
    }
  } else if (rm === 5 && mod === 0) {
    off = m[i] | (m[i + 1] << 8) | (m[i + 2] << 16) | (m[i + 3] << 24);
    i += 4;
  } else {
    off = regs[rm];
    if (rm === 5) seg = SEG_SS;
  }
  if (mod === 1) {
    off = (off + ((m[i] << 24) >> 24)) | 0;
    i++;
  } else if (mod === 2) {
    off = (off + (m[i] | (m[i + 1] << 8) | (m[i + 2] << 16) | (m[i + 3] << 24))) | 0;
    i += 4;
  }
  c.eip = eip + (i - start);
  c.eaSeg = c.segOverride >= 0 ? c.segOverride : seg;
  return off;
}

/** Jcc/JZ condition with a fast path for ZF over a lazy result. */
function cond(c: Cpu, cc: number): boolean {
  if ((cc & 0xe) === 4 && c.lzOp !== LZ_NONE) return (c.lzRes === 0) !== ((cc & 1) !== 0);
  return c.cond(cc);
}

function rmwArith32(c: Cpu, lin: number, aop: number, src: number): void {
  const i = c.rmwIndex(lin, 4);
  if (i >= 0) {
    const m = c.mem32;
    m[i >> 2] = arith(c, aop, m[i >> 2], src, 31);
    return;
  }
  if (c.pagingOn) c.probeWrite(lin, 4);
  c.writeLinear32(lin, arith(c, aop, c.readLinear32(lin), src, 31));
}

function rmwArith16(c: Cpu, lin: number, aop: number, src: number): void {
  const i = c.rmwIndex(lin, 2);
  if (i >= 0) {
    const m = c.mem16;
    m[i >> 1] = arith(c, aop, m[i >> 1], src, 15);
    return;
  }
  if (c.pagingOn) c.probeWrite(lin, 2);
  c.writeLinear16(lin, arith(c, aop, c.readLinear16(lin), src, 15));
}

function rmwArith8(c: Cpu, lin: number, aop: number, src: number): void {
  const i = c.rmwIndex(lin, 1);
  if (i >= 0) {
    const m = c.mem;
    m[i] = arith(c, aop, m[i], src, 7);
    return;
  }
  if (c.pagingOn) c.probeWrite(lin, 1);
  c.writeLinear8(lin, arith(c, aop, c.readLinear8(lin), src, 7));
}

// ------------------------------------------------------------------ ALU 00-3F

function aluEbGb(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = op >> 3;
  const src = c.reg8[R8[(modrm >> 3) & 7]];
  if (modrm >= 0xc0) {
    const ri = R8[modrm & 7];
    const r = arith(c, aop, c.reg8[ri], src, 7);
    if (aop !== 7) c.reg8[ri] = r;
    return;
  }
  const lin = memOperand(c, modrm, 1);
  if (aop === 7) arith(c, 7, c.readLinear8(lin), src, 7);
  else rmwArith8(c, lin, aop, src);
}

function aluGbEb(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = op >> 3;
  const ri = R8[(modrm >> 3) & 7];
  const src = modrm >= 0xc0 ? c.reg8[R8[modrm & 7]] : c.readLinear8(memOperand(c, modrm, 1));
  const r = arith(c, aop, c.reg8[ri], src, 7);
  if (aop !== 7) c.reg8[ri] = r;
}

function aluEvGv32(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = op >> 3;
  const regs = c.regs;
  const src = regs[(modrm >> 3) & 7];
  if (modrm >= 0xc0) {
    const rm = modrm & 7;
    const r = arith(c, aop, regs[rm], src, 31);
    if (aop !== 7) regs[rm] = r;
    return;
  }
  const lin = memOperand(c, modrm, 4);
  if (aop === 7) arith(c, 7, c.readLinear32(lin), src, 31);
  else rmwArith32(c, lin, aop, src);
}

function aluEvGv16(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = op >> 3;
  const r16 = c.reg16;
  const src = r16[((modrm >> 3) & 7) * 2];
  if (modrm >= 0xc0) {
    const rm = (modrm & 7) * 2;
    const r = arith(c, aop, r16[rm], src, 15);
    if (aop !== 7) r16[rm] = r;
    return;
  }
  const lin = memOperand(c, modrm, 2);
  if (aop === 7) arith(c, 7, c.readLinear16(lin), src, 15);
  else rmwArith16(c, lin, aop, src);
}

function aluGvEv32(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = op >> 3;
  const regs = c.regs;
  const reg = (modrm >> 3) & 7;
  const src = modrm >= 0xc0 ? regs[modrm & 7] : c.readLinear32(memOperand(c, modrm, 4));
  const r = arith(c, aop, regs[reg], src, 31);
  if (aop !== 7) regs[reg] = r;
}

function aluGvEv16(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = op >> 3;
  const r16 = c.reg16;
  const reg = ((modrm >> 3) & 7) * 2;
  const src = modrm >= 0xc0 ? r16[(modrm & 7) * 2] : c.readLinear16(memOperand(c, modrm, 2));
  const r = arith(c, aop, r16[reg], src, 15);
  if (aop !== 7) r16[reg] = r;
}

function aluALIb(c: Cpu, op: number): void {
  const aop = op >> 3;
  const r = arith(c, aop, c.reg8[0], c.fetch8(), 7);
  if (aop !== 7) c.reg8[0] = r;
}

function aluEAXId(c: Cpu, op: number): void {
  const aop = op >> 3;
  const r = arith(c, aop, c.regs[REG_EAX], c.fetch32(), 31);
  if (aop !== 7) c.regs[REG_EAX] = r;
}

function aluAXIw(c: Cpu, op: number): void {
  const aop = op >> 3;
  const r = arith(c, aop, c.reg16[0], c.fetch16(), 15);
  if (aop !== 7) c.reg16[0] = r;
}

// ------------------------------------------------------------------ 40-6F

function incReg32(c: Cpu, op: number): void {
  const r = op & 7;
  c.regs[r] = inc(c, c.regs[r], 31);
}

function decReg32(c: Cpu, op: number): void {
  const r = op & 7;
  c.regs[r] = dec(c, c.regs[r], 31);
}

function incReg16(c: Cpu, op: number): void {
  const r = (op & 7) * 2;
  c.reg16[r] = inc(c, c.reg16[r], 15);
}

function decReg16(c: Cpu, op: number): void {
  const r = (op & 7) * 2;
  c.reg16[r] = dec(c, c.reg16[r], 15);
}

function pushReg32(c: Cpu, op: number): void {
  c.push32(c.regs[op & 7]);
}

function popReg32(c: Cpu, op: number): void {
  const v = c.pop32();
  c.regs[op & 7] = v;
}

function pushReg16(c: Cpu, op: number): void {
  c.push16(c.reg16[(op & 7) * 2]);
}

function popReg16(c: Cpu, op: number): void {
  const v = c.pop16();
  c.reg16[(op & 7) * 2] = v;
}

function pushImm32(c: Cpu, op: number): void {
  c.push32(op === 0x6a ? c.fetchS8() : c.fetch32());
}

function pushImm16(c: Cpu, op: number): void {
  c.push16(op === 0x6a ? c.fetchS8() : c.fetch16());
}

function imulImm32(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const src = modrm >= 0xc0 ? c.regs[modrm & 7] : c.readLinear32(memOperand(c, modrm, 4));
  const imm = op === 0x6b ? c.fetchS8() : c.fetch32();
  c.regs[(modrm >> 3) & 7] = imulTrunc(c, src, imm, 31);
}

// ------------------------------------------------------------------ jumps, calls

function jcc8_32(c: Cpu, op: number): void {
  const rel = c.fetchS8();
  if (cond(c, op & 15)) c.eip = (c.eip + rel) >>> 0;
}

function jcc8_16(c: Cpu, op: number): void {
  const rel = c.fetchS8();
  if (cond(c, op & 15)) c.eip = (c.eip + rel) & 0xffff;
}

function jmp8_32(c: Cpu): void {
  const rel = c.fetchS8();
  c.eip = (c.eip + rel) >>> 0;
}

function jmp8_16(c: Cpu): void {
  const rel = c.fetchS8();
  c.eip = (c.eip + rel) & 0xffff;
}

function jmp32(c: Cpu): void {
  const rel = c.fetch32();
  c.eip = (c.eip + rel) >>> 0;
}

function jmp16(c: Cpu): void {
  const rel = c.fetch16();
  c.eip = (c.eip + rel) & 0xffff;
}

function call32(c: Cpu): void {
  const rel = c.fetch32();
  const next = c.eip;
  c.push32(next);
  c.eip = (next + rel) >>> 0;
}

function call16(c: Cpu): void {
  const rel = c.fetch16();
  const next = c.eip;
  c.push16(next);
  c.eip = (next + rel) & 0xffff;
}

function ret32(c: Cpu): void {
  c.eip = c.pop32() >>> 0;
}

function ret16(c: Cpu): void {
  c.eip = c.pop16();
}

// ------------------------------------------------------------------ 80-8F

function grp1Eb(c: Cpu): void {
  const modrm = c.fetch8();
  const aop = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const ri = R8[modrm & 7];
    const r = arith(c, aop, c.reg8[ri], c.fetch8(), 7);
    if (aop !== 7) c.reg8[ri] = r;
    return;
  }
  const lin = memOperand(c, modrm, 1);
  const imm = c.fetch8();
  if (aop === 7) arith(c, 7, c.readLinear8(lin), imm, 7);
  else rmwArith8(c, lin, aop, imm);
}

function grp1Ev32(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const rm = modrm & 7;
    const r = arith(c, aop, c.regs[rm], op === 0x83 ? c.fetchS8() : c.fetch32(), 31);
    if (aop !== 7) c.regs[rm] = r;
    return;
  }
  const lin = memOperand(c, modrm, 4);
  const imm = op === 0x83 ? c.fetchS8() : c.fetch32();
  if (aop === 7) arith(c, 7, c.readLinear32(lin), imm, 31);
  else rmwArith32(c, lin, aop, imm);
}

function grp1Ev16(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const aop = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const rm = (modrm & 7) * 2;
    const r = arith(c, aop, c.reg16[rm], (op === 0x83 ? c.fetchS8() : c.fetch16()) & 0xffff, 15);
    if (aop !== 7) c.reg16[rm] = r;
    return;
  }
  const lin = memOperand(c, modrm, 2);
  const imm = (op === 0x83 ? c.fetchS8() : c.fetch16()) & 0xffff;
  if (aop === 7) arith(c, 7, c.readLinear16(lin), imm, 15);
  else rmwArith16(c, lin, aop, imm);
}

function testEbGb(c: Cpu): void {
  const modrm = c.fetch8();
  const a = modrm >= 0xc0 ? c.reg8[R8[modrm & 7]] : c.readLinear8(memOperand(c, modrm, 1));
  arith(c, 4, a, c.reg8[R8[(modrm >> 3) & 7]], 7);
}

function testEvGv32(c: Cpu): void {
  const modrm = c.fetch8();
  const a = modrm >= 0xc0 ? c.regs[modrm & 7] : c.readLinear32(memOperand(c, modrm, 4));
  arith(c, 4, a, c.regs[(modrm >> 3) & 7], 31);
}

function testEvGv16(c: Cpu): void {
  const modrm = c.fetch8();
  const a = modrm >= 0xc0 ? c.reg16[(modrm & 7) * 2] : c.readLinear16(memOperand(c, modrm, 2));
  arith(c, 4, a, c.reg16[((modrm >> 3) & 7) * 2], 15);
}

function movEbGb(c: Cpu): void {
  const modrm = c.fetch8();
  const v = c.reg8[R8[(modrm >> 3) & 7]];
  if (modrm >= 0xc0) c.reg8[R8[modrm & 7]] = v;
  else c.writeLinear8(memOperand(c, modrm, 1), v);
}

function movEvGv32(c: Cpu): void {
  const modrm = c.fetch8();
  const v = c.regs[(modrm >> 3) & 7];
  if (modrm >= 0xc0) c.regs[modrm & 7] = v;
  else c.writeLinear32(memOperand(c, modrm, 4), v);
}

function movEvGv16(c: Cpu): void {
  const modrm = c.fetch8();
  const v = c.reg16[((modrm >> 3) & 7) * 2];
  if (modrm >= 0xc0) c.reg16[(modrm & 7) * 2] = v;
  else c.writeLinear16(memOperand(c, modrm, 2), v);
}

function movGbEb(c: Cpu): void {
  const modrm = c.fetch8();
  c.reg8[R8[(modrm >> 3) & 7]] = modrm >= 0xc0 ? c.reg8[R8[modrm & 7]] : c.readLinear8(memOperand(c, modrm, 1));
}

function movGvEv32(c: Cpu): void {
  const modrm = c.fetch8();
  c.regs[(modrm >> 3) & 7] = modrm >= 0xc0 ? c.regs[modrm & 7] : c.readLinear32(memOperand(c, modrm, 4));
}

function movGvEv16(c: Cpu): void {
  const modrm = c.fetch8();
  c.reg16[((modrm >> 3) & 7) * 2] = modrm >= 0xc0 ? c.reg16[(modrm & 7) * 2] : c.readLinear16(memOperand(c, modrm, 2));
}

function lea32(c: Cpu): void {
  const modrm = c.fetch8();
  if (modrm >= 0xc0) c.fault(EXC_UD);
  if (c.addrsize32) {
    c.regs[(modrm >> 3) & 7] = ea32(c, modrm);
    return;
  }
  decodeModrm(c, modrm);
  c.regs[(modrm >> 3) & 7] = c.eaOffset;
}

function lea16(c: Cpu): void {
  const modrm = c.fetch8();
  if (modrm >= 0xc0) c.fault(EXC_UD);
  decodeModrm(c, modrm);
  c.reg16[((modrm >> 3) & 7) * 2] = c.eaOffset;
}

function nop(): void {}

// ------------------------------------------------------------------ A0-FF

function movEAXMoffs(c: Cpu, op: number): void {
  const off = c.addrsize32 ? c.fetch32() : c.fetch16();
  const lin = dataLinear(c, off, 4);
  if (op === 0xa1) c.regs[REG_EAX] = c.readLinear32(lin);
  else c.writeLinear32(lin, c.regs[REG_EAX]);
}

function testEAXId(c: Cpu): void {
  arith(c, 4, c.regs[REG_EAX], c.fetch32(), 31);
}

function movRbIb(c: Cpu, op: number): void {
  c.reg8[R8[op & 7]] = c.fetch8();
}

function movRdId(c: Cpu, op: number): void {
  c.regs[op & 7] = c.fetch32();
}

function movRwIw(c: Cpu, op: number): void {
  c.reg16[(op & 7) * 2] = c.fetch16();
}

function movEvIv32(c: Cpu): void {
  const modrm = c.fetch8();
  if ((modrm & 0x38) !== 0) c.fault(EXC_UD);
  if (modrm >= 0xc0) {
    c.regs[modrm & 7] = c.fetch32();
    return;
  }
  const lin = memOperand(c, modrm, 4);
  c.writeLinear32(lin, c.fetch32());
}

function movEbIb(c: Cpu): void {
  const modrm = c.fetch8();
  if ((modrm & 0x38) !== 0) c.fault(EXC_UD);
  if (modrm >= 0xc0) {
    c.reg8[R8[modrm & 7]] = c.fetch8();
    return;
  }
  const lin = memOperand(c, modrm, 1);
  c.writeLinear8(lin, c.fetch8());
}

/** C1 /n ib, D1 /n, D3 /n with a 32-bit operand. */
function shiftEv32(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  const kind = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const rm = modrm & 7;
    const n = op === 0xd1 ? 1 : op === 0xd3 ? c.reg8[4] & 31 : c.fetch8() & 31;
    if (kind < 2 && n !== 0) {
      // ROL/ROR: only CF and OF change, the other arithmetic flags are made real first.
      const v = c.regs[rm];
      let r: number, cf: number, of: number;
      if (kind === 0) {
        r = (v << n) | (v >>> (32 - n));
        cf = r & 1;
        of = (r >>> 31) ^ cf;
      } else {
        r = (v >>> n) | (v << (32 - n));
        cf = r >>> 31;
        of = cf ^ ((r >>> 30) & 1);
      }
      if (c.lzOp !== LZ_NONE) c.materializeFlags();
      c.flags = (c.flags & ~0x801) | cf | (of << 11);
      c.regs[rm] = r;
      return;
    }
    if (kind >= 4 && n !== 0) {
      // SHL/SAL, SHR, SAR: every arithmetic flag is set (AF = 1 as the hardware vectors show).
      const v = c.regs[rm];
      let r: number, cf: number, of = 0;
      if (kind === 5) {
        r = v >>> n;
        cf = (v >>> (n - 1)) & 1;
        if (n === 1) of = v >>> 31;
        r |= 0;
      } else if (kind === 7) {
        r = v >> n;
        cf = (v >> (n - 1)) & 1;
      } else {
        r = v << n;
        cf = (v >>> (32 - n)) & 1;
        of = (r >>> 31) ^ cf;
      }
      c.lzOp = LZ_NONE;
      c.flags = (c.flags & ~0x8d5) | cf | PARITY[r & 0xff] | (r === 0 ? 0x40 : 0) | ((r >>> 31) << 7) | 0x10 | (of << 11);
      c.regs[rm] = r;
      return;
    }
    c.regs[rm] = shift(c, kind, c.regs[rm], n, 31);
    return;
  }
  decodeModrm(c, modrm);
  if (c.pagingOn) c.probeWrite(c.eaLinear, 4);
  const a = getRmV(c);
  const n = op === 0xd1 ? 1 : op === 0xd3 ? c.reg8[4] & 31 : c.fetch8() & 31;
  setRmV(c, shift(c, kind, a, n, 31));
}

/** F7 with a 32-bit operand: TEST/NOT/NEG/MUL/IMUL/DIV/IDIV. */
function grp3Ev32(c: Cpu): void {
  const modrm = c.fetch8();
  const reg = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    const rm = modrm & 7;
    const regs = c.regs;
    switch (reg) {
      case 0: case 1: arith(c, 4, regs[rm], c.fetch32(), 31); return;
      case 2: regs[rm] = ~regs[rm]; return;
      case 3: regs[rm] = neg(c, regs[rm], 31); return;
      case 4: case 5: mul1(c, reg === 5, regs[rm], 31); return;
      default: div1(c, reg === 7, regs[rm], 31); return;
    }
  }
  decodeModrm(c, modrm);
  switch (reg) {
    case 0: case 1: {
      const a = getRmV(c);
      arith(c, 4, a, c.fetch32(), 31);
      return;
    }
    case 2: case 3:
      if (c.pagingOn) c.probeWrite(c.eaLinear, 4);
      setRmV(c, reg === 2 ? ~getRmV(c) : neg(c, getRmV(c), 31));
      return;
    case 4: case 5: mul1(c, reg === 5, getRmV(c), 31); return;
    default: div1(c, reg === 7, getRmV(c), 31); return;
  }
}

/** FF with a 32-bit operand: INC/DEC/CALL/JMP/PUSH r/m here, far forms in exec.ts. */
function grp5Ev32(c: Cpu): void {
  const start = c.eip;
  const modrm = c.fetch8();
  const reg = (modrm >> 3) & 7;
  if (reg === 3 || reg === 5 || reg === 7) {
    c.eip = start;
    group5(c);
    return;
  }
  if (modrm >= 0xc0) {
    const rm = modrm & 7;
    const regs = c.regs;
    switch (reg) {
      case 0: regs[rm] = inc(c, regs[rm], 31); return;
      case 1: regs[rm] = dec(c, regs[rm], 31); return;
      case 2: {
        const target = regs[rm];
        c.push32(c.eip);
        c.eip = target >>> 0;
        return;
      }
      case 4: c.eip = regs[rm] >>> 0; return;
      default: c.push32(regs[rm]); return;
    }
  }
  const lin = memOperand(c, modrm, 4);
  switch (reg) {
    case 0: case 1: {
      if (c.pagingOn) c.probeWrite(lin, 4);
      const a = c.readLinear32(lin);
      c.writeLinear32(lin, reg === 0 ? inc(c, a, 31) : dec(c, a, 31));
      return;
    }
    case 2: {
      const target = c.readLinear32(lin);
      c.push32(c.eip);
      c.eip = target >>> 0;
      return;
    }
    case 4: c.eip = c.readLinear32(lin) >>> 0; return;
    default: c.push32(c.readLinear32(lin)); return;
  }
}

// ------------------------------------------------------------------ 0F

function twoByte32(c: Cpu): void {
  const op2 = c.fetch8();
  if ((op2 & 0xf0) === 0x80) {
    const rel = c.fetch32();
    if (cond(c, op2 & 15)) c.eip = (c.eip + rel) >>> 0;
    return;
  }
  switch (op2) {
    case 0xb6: case 0xbe: {
      const modrm = c.fetch8();
      const v = modrm >= 0xc0 ? c.reg8[R8[modrm & 7]] : c.readLinear8(memOperand(c, modrm, 1));
      c.regs[(modrm >> 3) & 7] = op2 === 0xb6 ? v : (v << 24) >> 24;
      return;
    }
    case 0xb7: case 0xbf: {
      const modrm = c.fetch8();
      const v = modrm >= 0xc0 ? c.reg16[(modrm & 7) * 2] : c.readLinear16(memOperand(c, modrm, 2));
      c.regs[(modrm >> 3) & 7] = op2 === 0xb7 ? v : (v << 16) >> 16;
      return;
    }
    case 0xaf: {
      const modrm = c.fetch8();
      const reg = (modrm >> 3) & 7;
      const src = modrm >= 0xc0 ? c.regs[modrm & 7] : c.readLinear32(memOperand(c, modrm, 4));
      c.regs[reg] = imulTrunc(c, c.regs[reg], src, 31);
      return;
    }
    default:
      execute0F(c, op2);
  }
}

function twoByte16(c: Cpu): void {
  const op2 = c.fetch8();
  if ((op2 & 0xf0) === 0x80) {
    const rel = c.fetch16();
    if (cond(c, op2 & 15)) c.eip = (c.eip + rel) & 0xffff;
    return;
  }
  execute0F(c, op2);
}

// ------------------------------------------------------------------ tables

function both(ops: number[], h: Handler): void {
  for (const op of ops) OPS16[op] = OPS32[op] = h;
}

function range(from: number, to: number): number[] {
  const r: number[] = [];
  for (let i = from; i <= to; i++) r.push(i);
  return r;
}

OPS16.fill(generic);
OPS32.fill(generic);
both([0xf0, 0xf2, 0xf3], prefixed);
both([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65], segPrefix);
both([0x66], opsizePrefix);
both([0x67], addrsizePrefix);
for (let aop = 0; aop < 8; aop++) {
  const b = aop << 3;
  both([b], aluEbGb);
  both([b + 2], aluGbEb);
  both([b + 4], aluALIb);
  OPS32[b + 1] = aluEvGv32;
  OPS16[b + 1] = aluEvGv16;
  OPS32[b + 3] = aluGvEv32;
  OPS16[b + 3] = aluGvEv16;
  OPS32[b + 5] = aluEAXId;
  OPS16[b + 5] = aluAXIw;
}
for (const op of range(0x40, 0x47)) { OPS32[op] = incReg32; OPS16[op] = incReg16; }
for (const op of range(0x48, 0x4f)) { OPS32[op] = decReg32; OPS16[op] = decReg16; }
for (const op of range(0x50, 0x57)) { OPS32[op] = pushReg32; OPS16[op] = pushReg16; }
for (const op of range(0x58, 0x5f)) { OPS32[op] = popReg32; OPS16[op] = popReg16; }
OPS32[0x68] = OPS32[0x6a] = pushImm32;
OPS16[0x68] = OPS16[0x6a] = pushImm16;
OPS32[0x69] = OPS32[0x6b] = imulImm32;
for (const op of range(0x70, 0x7f)) { OPS32[op] = jcc8_32; OPS16[op] = jcc8_16; }
both([0x80, 0x82], grp1Eb);
OPS32[0x81] = OPS32[0x83] = grp1Ev32;
OPS16[0x81] = OPS16[0x83] = grp1Ev16;
both([0x84], testEbGb);
OPS32[0x85] = testEvGv32;
OPS16[0x85] = testEvGv16;
both([0x88], movEbGb);
OPS32[0x89] = movEvGv32;
OPS16[0x89] = movEvGv16;
both([0x8a], movGbEb);
OPS32[0x8b] = movGvEv32;
OPS16[0x8b] = movGvEv16;
OPS32[0x8d] = lea32;
OPS16[0x8d] = lea16;
both([0x90], nop);
OPS32[0xa1] = OPS32[0xa3] = movEAXMoffs;
OPS32[0xa9] = testEAXId;
both(range(0xb0, 0xb7), movRbIb);
for (const op of range(0xb8, 0xbf)) { OPS32[op] = movRdId; OPS16[op] = movRwIw; }
OPS32[0xc1] = OPS32[0xd1] = OPS32[0xd3] = shiftEv32;
OPS32[0xc3] = ret32;
OPS16[0xc3] = ret16;
both([0xc6], movEbIb);
OPS32[0xc7] = movEvIv32;
OPS32[0xe8] = call32;
OPS16[0xe8] = call16;
OPS32[0xe9] = jmp32;
OPS16[0xe9] = jmp16;
OPS32[0xeb] = jmp8_32;
OPS16[0xeb] = jmp8_16;
OPS32[0xf7] = grp3Ev32;
OPS32[0xff] = grp5Ev32;
OPS32[0x0f] = twoByte32;
OPS16[0x0f] = twoByte16;
