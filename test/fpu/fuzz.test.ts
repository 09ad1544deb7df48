// Garbage in: random D8..DF instructions on random memory and control words never crash
// the host, never leave a malformed register or word behind, and only raise the
// architected faults (#UD, #MF).
import { describe, expect, it } from 'vitest';
import { MathFault, Rng, UndefinedOpcode, exec, makeRig } from './harness.js';

describe('random instruction streams', () => {
  it('keep the unit consistent', () => {
    const rng = new Rng(0xc0ffee);
    let steps = 0;
    for (let round = 0; round < 40; round++) {
      const r = makeRig();
      r.ne.value = rng.int(2) === 0;
      for (let k = 0; k < 0x400; k++) r.mem.bytes[k] = rng.next() & 0xff;
      for (let n = 0; n < 1500; n++) {
        const opcode = 0xd8 + rng.int(8);
        const modrm = rng.int(256);
        try {
          exec(r, opcode, modrm, rng.int(0x3f0), rng.int(2) === 0, rng.int(2) === 0);
        } catch (e) {
          if (e instanceof MathFault) { exec(r, 0xdb, 0xe2); continue; } // FNCLEX
          if (e instanceof UndefinedOpcode) continue;
          throw e;
        }
        const f = r.fpu;
        let ok = f.top >= 0 && f.top < 8 && (f.controlWord & ~0x1f7f) === 0 && f.statusWord === (f.statusWord & 0xffff);
        for (let i = 0; i < 8; i++) ok &&= Number.isInteger(f.regMant[2 * i]!) && f.regSignExp[i]! <= 0xffff;
        if (!ok) expect.fail(`inconsistent state after ${opcode.toString(16)} ${modrm.toString(16)}`);
        steps++;
      }
    }
    expect(steps).toBeGreaterThan(30000); // most random encodings are valid instructions
  });
});
