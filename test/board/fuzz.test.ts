// Random port and MMIO traffic (10^6 operations, fixed seeds) interleaved with CPU runs: the
// machine must neither throw into the host nor hang, whatever the guest programs.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { pcConfig, seabiosAvailable } from './board-helpers.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

// Ports of the platform devices (the interesting ones get most of the traffic).
const PORTS = [
  0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71, 0x60, 0x64, 0x92, 0x80, 0x81, 0x87,
  0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xc0, 0xc4, 0xd0, 0xd4, 0xd6,
  0xcf8, 0xcfc, 0xcfd, 0xcfe, 0x4d0, 0x4d1, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x2f8,
  0x510, 0x511, 0x514, 0x518, 0xb2, 0xb3, 0xafe0, 0xafe2, 0x402, 0xe9, 0x3f0, 0x3f2, 0x3f4, 0x3f5, 0x3f7,
  0x1f0, 0x1f7, 0x3f6, 0x3c0, 0x3c4, 0x3c5, 0x3ce, 0x3cf, 0x3d4, 0x3d5, 0x1ce, 0x1cf,
];
const MMIO = [0xfee00000, 0xfec00000, 0xa0000, 0xb8000, 0xc0000, 0xf0000];

describe('random device traffic', () => {
  it('10^6 port/MMIO operations over 4 seeds neither crash nor hang the host', () => {
    if (!seabiosAvailable()) return;
    let ops = 0;
    for (const seed of [1, 2, 3, 4]) {
      const m = new PcMachine(pcConfig());
      m.run(200_000);
      const next = rng(seed * 0x9e3779b9);
      // Don't let the fuzzer power off or reset the machine every few operations: those paths
      // are exercised, but the run continues on a fresh machine state afterwards.
      for (let i = 0; i < 250_000; i++, ops++) {
        const r = next();
        const kind = r & 7;
        const value = next();
        if (kind < 5) {
          let port = PORTS[(r >>> 3) % PORTS.length];
          if (port === 0xcf8 && (value & 1)) {
            // A valid config address now and then, so config space gets exercised.
            m.io.out32(0xcf8, (0x80000000 | (value & 0x1ffc)) >>> 0);
            continue;
          }
          if (port === 0xcf9) port = 0xcfa;
          const size = (r >>> 12) & 3;
          const write = (r >>> 14) & 1;
          if (write) {
            if (size === 0) m.io.out8(port, value);
            else if (size === 1) m.io.out16(port, value);
            else m.io.out32(port, value);
          } else if (size === 0) m.io.in8(port);
          else if (size === 1) m.io.in16(port);
          else m.io.in32(port);
        } else if (kind < 7) {
          const addr = MMIO[(r >>> 3) % MMIO.length] + ((value >>> 8) & 0xffc);
          if (r & 0x10000) m.memory.write32(addr, next());
          else m.memory.read32(addr);
        } else if ((r >>> 3) % 64 === 0) {
          const stop = m.run(2_000);
          expect(['budget', 'halted', 'poweroff', 'reset']).toContain(stop);
        }
      }
      // Still runnable afterwards.
      const stop = m.run(10_000);
      expect(['budget', 'halted', 'poweroff', 'reset']).toContain(stop);
      m.saveState();
    }
    expect(ops).toBe(1_000_000);
  });
});
