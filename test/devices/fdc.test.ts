import { describe, expect, it } from 'vitest';
import type { DmaChannel } from '../../core/bus/dma.js';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Fdc, floppyGeometry } from '../../core/devices/fdc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';

/** A single 8237 channel reduced to what the controller sees: address, count, TC, mask. */
class FakeDma implements DmaChannel {
  enabled = false;
  direction: 'verify' | 'write' | 'read' | 'invalid' = 'write';
  terminalCount = false;
  private addr = 0;
  private count = 0;
  constructor(private readonly memory: PhysicalMemory) {}
  get remaining(): number {
    return this.count;
  }
  program(addr: number, count: number, direction: 'write' | 'read'): void {
    this.addr = addr;
    this.count = count;
    this.direction = direction;
    this.terminalCount = false;
    this.enabled = true;
  }
  writeToMemory(data: Uint8Array): number {
    if (!this.enabled) return 0;
    const n = Math.min(data.length, this.count);
    this.memory.writeBytes(this.addr, data.subarray(0, n));
    return this.moved(n);
  }
  readFromMemory(buf: Uint8Array): number {
    if (!this.enabled) return 0;
    const n = Math.min(buf.length, this.count);
    this.memory.readBytes(this.addr, buf.subarray(0, n));
    return this.moved(n);
  }
  private moved(n: number): number {
    this.addr += n;
    this.count -= n;
    this.terminalCount = this.count === 0;
    if (this.terminalCount) this.enabled = false; // the 8237 masks the channel at TC
    return n;
  }
}

const RATE_FOR: Record<string, number> = { '160K': 2, '180K': 2, '320K': 2, '360K': 2, '720K': 2, '1.2M': 0, '1.44M': 0, '1.68M DMF': 0, '2.88M': 3 };
const SIZES: [string, number][] = [
  ['160K', 163840], ['180K', 184320], ['320K', 327680], ['360K', 368640], ['720K', 737280],
  ['1.2M', 1228800], ['1.44M', 1474560], ['1.68M DMF', 1720320], ['2.88M', 2949120],
];

function image(size: number, readOnly = false): MemoryBlockDevice {
  const data = new Uint8Array(size);
  for (let s = 0; s < size / 512; s++) {
    for (let i = 0; i < 512; i += 2) {
      data[s * 512 + i] = s & 0xff;
      data[s * 512 + i + 1] = ((s >> 8) & 0x0f) | ((i & 0x1e) << 3);
    }
  }
  return new MemoryBlockDevice(data, readOnly);
}

function expectSector(mem: Uint8Array, at: number, lba: number): void {
  for (let i = 0; i < 512; i += 2) {
    if (mem[at + i] !== (lba & 0xff) || mem[at + i + 1] !== (((lba >> 8) & 0x0f) | ((i & 0x1e) << 3))) {
      throw new Error(`sector ${lba} mismatch at byte ${i}`);
    }
  }
}

function setup(media: (MemoryBlockDevice | null)[], drives = 2) {
  const io = new IoBus();
  const memory = new PhysicalMemory(1 << 20);
  const dma = new FakeDma(memory);
  const irq = { level: false, count: 0 };
  const fdc = new Fdc({
    irq: (l) => {
      irq.level = l;
      if (l) irq.count++;
    },
    dma,
    media,
    drives,
  });
  fdc.registerPorts(io);
  return { io, memory, dma, irq, fdc };
}

function cmd(io: IoBus, ...bytes: number[]): void {
  for (const b of bytes) {
    expect(io.in8(0x3f4) & 0xc0).toBe(0x80); // RQM, host to controller
    io.out8(0x3f5, b);
  }
}

function results(io: IoBus): number[] {
  const out: number[] = [];
  while ((io.in8(0x3f4) & 0xc0) === 0xc0) out.push(io.in8(0x3f5));
  return out;
}

function seek(io: IoBus, drive: number, head: number, cyl: number): number[] {
  cmd(io, 0x0f, (head << 2) | drive, cyl);
  cmd(io, 0x08);
  return results(io);
}

describe('82077AA floppy controller', () => {
  it('interrupts after a reset and reports four ready-changed statuses', () => {
    const { io, irq } = setup([image(1474560), null]);
    io.out8(0x3f2, 0x00);
    expect(io.in8(0x3f4)).toBe(0);
    io.out8(0x3f2, 0x0c);
    expect(irq.level).toBe(true);
    for (let d = 0; d < 4; d++) {
      cmd(io, 0x08);
      expect(results(io)).toEqual([0xc0 | d, 0]);
    }
    expect(irq.level).toBe(false);
    cmd(io, 0x08);
    expect(results(io)).toEqual([0x80]);
    // DSR software reset does the same.
    io.out8(0x3f4, 0x80);
    expect(irq.level).toBe(true);
    cmd(io, 0x08);
    expect(results(io)).toEqual([0xc0, 0]);
    // A BIOS senses once, then recalibrates: the new interrupt replaces the remaining reset statuses.
    io.out8(0x3f4, 0x80);
    cmd(io, 0x08);
    expect(results(io)).toEqual([0xc0, 0]);
    cmd(io, 0x07, 0x01);
    cmd(io, 0x08);
    expect(results(io)).toEqual([0x21, 0]);
    cmd(io, 0x08);
    expect(results(io)).toEqual([0x80]);
    // With the DMA/IRQ gate off in the DOR the line stays low.
    io.out8(0x3f2, 0x00);
    io.out8(0x3f2, 0x04);
    expect(irq.level).toBe(false);
    io.out8(0x3f2, 0x0c);
    expect(irq.level).toBe(true);
  });

  it('answers VERSION, CONFIGURE, LOCK, PERPENDICULAR, DUMPREG and rejects unknown commands', () => {
    const { io } = setup([image(1474560), null]);
    cmd(io, 0x10);
    expect(results(io)).toEqual([0x90]);
    cmd(io, 0x13, 0x00, 0x57, 0x05);
    expect(results(io)).toEqual([]);
    cmd(io, 0x94);
    expect(results(io)).toEqual([0x10]);
    cmd(io, 0x12, 0x80 | 0x04 | 0x03);
    cmd(io, 0x03, 0xaf, 0x02);
    seek(io, 1, 0, 17);
    cmd(io, 0x0e);
    expect(results(io)).toEqual([0, 17, 0, 0, 0xaf, 0x02, 0, 0x80 | 0x07, 0x57, 0x05]);
    // A reset keeps the locked configuration.
    io.out8(0x3f4, 0x80);
    for (let i = 0; i < 4; i++) {
      cmd(io, 0x08);
      results(io);
    }
    cmd(io, 0x0e);
    const dump = results(io);
    expect([dump[7], dump[8], dump[9]]).toEqual([0x80 | 0x04, 0x57, 0x05]);
    cmd(io, 0x14);
    expect(results(io)).toEqual([0x00]);
    cmd(io, 0x18); // PART ID: not an 82077AA command
    expect(results(io)).toEqual([0x80]);
  });

  it('detects the geometry of every standard image size', () => {
    const expected: Record<string, [number, number, number]> = {
      '160K': [40, 1, 8], '180K': [40, 1, 9], '320K': [40, 2, 8], '360K': [40, 2, 9], '720K': [80, 2, 9],
      '1.2M': [80, 2, 15], '1.44M': [80, 2, 18], '1.68M DMF': [80, 2, 21], '2.88M': [80, 2, 36],
    };
    for (const [name, size] of SIZES) {
      const g = floppyGeometry(size);
      expect(g.name).toBe(name);
      expect([g.cylinders, g.heads, g.sectors]).toEqual(expected[name]);
      expect(g.cylinders * g.heads * g.sectors * 512).toBe(size);
    }
    expect(floppyGeometry(1474560).cmosType).toBe(4);
    expect(floppyGeometry(1000000).sectors).toBe(15); // odd size: next larger format
  });

  for (const [name, size] of SIZES) {
    it(`seeks and reads ${name} media by DMA, across heads with MT`, () => {
      const { io, memory, dma, irq } = setup([image(size), null]);
      const g = floppyGeometry(size);
      io.out8(0x3f7, RATE_FOR[name]);
      cmd(io, 0x07, 0x00);
      cmd(io, 0x08);
      expect(results(io)).toEqual([0x20, 0]);
      const cyl = g.cylinders - 1;
      expect(seek(io, 0, 0, cyl)).toEqual([0x20, cyl]);
      // Read from the last 2 sectors of head 0 on into head 1 (when there is one).
      const start = g.sectors - 1;
      const count = g.heads === 2 ? 4 : 2;
      dma.program(0x8000, count * 512, 'write');
      const before = irq.count;
      cmd(io, 0xe6, 0x00, cyl, 0, start, 2, g.sectors, 0x1b, 0xff);
      expect(irq.count).toBe(before + 1);
      const r = results(io);
      expect(r[0] & 0xc0).toBe(0);
      for (let i = 0; i < count; i++) {
        const head = start + i > g.sectors ? 1 : 0;
        const sector = head ? start + i - g.sectors : start + i;
        const lba = (cyl * g.heads + head) * g.sectors + sector - 1;
        expectSector(memory.mem, 0x8000 + i * 512, lba);
      }
      // Terminal count mid-track: the next sector; exactly at EOT with MT on head 0: head 1, sector 1.
      if (g.heads === 2) expect(r.slice(3)).toEqual([cyl, 1, 3, 2]);
      else expect(r.slice(3)).toEqual([cyl, 1, 1, 2]);
      // The same medium at the wrong data rate cannot be read.
      io.out8(0x3f7, RATE_FOR[name] === 0 ? 2 : 0);
      cmd(io, 0x4a, 0x00);
      const id = results(io);
      expect(id[0] & 0xc0).toBe(0x40);
      expect(id[1]).toBe(0x01);
    });
  }

  it('writes by DMA, refuses write-protected media and reports drive status', () => {
    const disk = image(1474560);
    const { io, memory, dma } = setup([disk, image(1474560, true)]);
    io.out8(0x3f7, 0);
    memory.mem.fill(0x5a, 0x9000, 0x9400);
    dma.program(0x9000, 1024, 'read');
    cmd(io, 0xc5, 0x04, 3, 1, 5, 2, 18, 0x1b, 0xff);
    const r = results(io);
    expect(r.slice(0, 3)).toEqual([0x04, 0, 0]);
    expect(r.slice(3)).toEqual([3, 1, 7, 2]);
    const lba = (3 * 2 + 1) * 18 + 4;
    expect(disk.data.subarray(lba * 512, (lba + 2) * 512).every((b) => b === 0x5a)).toBe(true);
    expect(disk.data[(lba + 2) * 512]).not.toBe(0x5a);

    dma.program(0x9000, 512, 'read');
    cmd(io, 0xc5, 0x01, 0, 0, 1, 2, 18, 0x1b, 0xff);
    const wp = results(io);
    expect(wp[0] & 0xc0).toBe(0x40);
    expect(wp[1]).toBe(0x02);
    cmd(io, 0x04, 0x01);
    expect(results(io)[0] & 0x40).toBe(0x40);
    cmd(io, 0x04, 0x00);
    const st3 = results(io)[0];
    expect(st3 & 0x40).toBe(0);
    expect(st3 & 0x10).toBe(0); // not on track 0 (cylinder 3 after the write)
  });

  it('ends a transfer that reaches EOT without terminal count with EN', () => {
    const { io, dma } = setup([image(737280), null]);
    io.out8(0x3f7, 2);
    dma.program(0x8000, 8192, 'write');
    cmd(io, 0x46, 0x00, 2, 0, 8, 2, 9, 0x1b, 0xff);
    const r = results(io);
    expect(r[0] & 0xc0).toBe(0x40);
    expect(r[1]).toBe(0x80);
    // Out-of-range sector: no data.
    dma.program(0x8000, 512, 'write');
    cmd(io, 0x46, 0x00, 2, 0, 10, 2, 9, 0x1b, 0xff);
    expect(results(io)[1]).toBe(0x04);
  });

  it('reads IDs, formats a track and tracks the disk-change line', () => {
    const disk = image(1474560);
    const { io, memory, dma, fdc } = setup([disk, null]);
    io.out8(0x3f2, 0x1c); // motor A on
    expect(io.in8(0x3f7) & 0x80).toBe(0x80);
    io.out8(0x3f7, 0);
    seek(io, 0, 0, 10);
    expect(io.in8(0x3f7) & 0x80).toBe(0);
    cmd(io, 0x4a, 0x04);
    const id = results(io);
    expect(id.slice(0, 3)).toEqual([0x04, 0, 0]);
    expect([id[3], id[4], id[6]]).toEqual([10, 1, 2]);

    // Format cylinder 10 head 1: 18 IDs, filler 0xE5.
    for (let s = 0; s < 18; s++) memory.mem.set([10, 1, s + 1, 2], 0xa000 + s * 4);
    dma.program(0xa000, 72, 'read');
    cmd(io, 0x4d, 0x04, 2, 18, 0x54, 0xe5);
    expect(results(io)[0] & 0xc0).toBe(0);
    const first = (10 * 2 + 1) * 18 * 512;
    expect(disk.data.subarray(first, first + 18 * 512).every((b) => b === 0xe5)).toBe(true);
    expect(disk.data[first - 1]).not.toBe(0xe5);
    expect(disk.data[first + 18 * 512]).not.toBe(0xe5);

    fdc.changeMedia(0, image(737280));
    expect(io.in8(0x3f7) & 0x80).toBe(0x80);
    // Empty drive: the line stays set, reads fail.
    fdc.changeMedia(0, null);
    seek(io, 0, 0, 1);
    expect(io.in8(0x3f7) & 0x80).toBe(0x80);
    cmd(io, 0x4a, 0x00);
    expect(results(io)[1]).toBe(0x01);
  });

  it('moves data through the FIFO in non-DMA mode', () => {
    const disk = image(1474560);
    const { io, irq } = setup([disk, null]);
    io.out8(0x3f7, 0);
    cmd(io, 0x03, 0xdf, 0x03); // ND
    cmd(io, 0x46, 0x04, 0, 1, 17, 2, 18, 0x1b, 0xff);
    expect(irq.level).toBe(true);
    const data = new Uint8Array(1024);
    for (let i = 0; i < 1024; i++) {
      expect(io.in8(0x3f4) & 0xe0).toBe(0xe0); // RQM, DIO, NDMA
      data[i] = io.in8(0x3f5);
    }
    expectSector(data, 0, 18 + 16);
    expectSector(data, 512, 18 + 17);
    const r = results(io);
    expect(r.slice(3)).toEqual([1, 1, 1, 2]);
    // Write one sector by PIO.
    cmd(io, 0x45, 0x00, 0, 0, 1, 2, 1, 0x1b, 0xff);
    for (let i = 0; i < 512; i++) io.out8(0x3f5, i & 0xff);
    expect(results(io)[0] & 0xc0).toBe(0);
    expect(disk.data[255]).toBe(255);
    expect(disk.data[256]).toBe(0);
  });

  it('waits for the DMA channel when a command comes first', () => {
    const { io, memory, dma, fdc } = setup([image(1474560), null]);
    io.out8(0x3f7, 0);
    cmd(io, 0x46, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    expect(io.in8(0x3f4) & 0x80).toBe(0); // busy, no RQM
    dma.program(0x8000, 512, 'write');
    fdc.dmaReady();
    expect(results(io).slice(0, 3)).toEqual([0, 0, 0]);
    expectSector(memory.mem, 0x8000, 0);
  });

  it('round-trips its state byte-identically mid-command and mid-transfer', () => {
    const a = setup([image(1474560), null]);
    a.io.out8(0x3f7, 0);
    cmd(a.io, 0x03, 0xdf, 0x03);
    cmd(a.io, 0x46, 0x00, 0, 0, 1, 2, 18, 0x1b, 0xff);
    for (let i = 0; i < 100; i++) a.io.in8(0x3f5);
    const file = encodeState([a.fdc]);
    const b = setup([image(1474560), null]);
    applyState([b.fdc], decodeState(file));
    expect(encodeState([b.fdc])).toEqual(file);
    expect(b.irq.level).toBe(true);
    const rest = new Uint8Array(512);
    for (let i = 100; i < 512; i++) rest[i] = b.io.in8(0x3f5);
    for (let i = 100; i < 512; i++) expect(rest[i]).toBe(a.io.in8(0x3f5));
  });
});

describe('82077AA robustness', () => {
  it('survives random port traffic without throwing and still reads afterwards', () => {
    let seed = 0x2468ace1;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const { io, memory, dma } = setup([image(1474560), image(368640, true)]);
    for (let i = 0; i < 50000; i++) {
      const port = 0x3f0 + [2, 4, 5, 5, 5, 7][rnd(6)];
      if (rnd(3) === 0) io.in8(port);
      else if (port === 0x3f5 && rnd(2)) io.out8(port, [0x03, 0x04, 0x07, 0x08, 0x0f, 0x46, 0xc5, 0x4a, 0x4d, 0x0e, 0x13, 0x94][rnd(12)]);
      else io.out8(port, rnd(256));
      if (rnd(50) === 0) dma.program(rnd(0x10000), rnd(0x4000), rnd(2) ? 'write' : 'read');
    }
    io.out8(0x3f2, 0x00);
    io.out8(0x3f2, 0x0c);
    for (let i = 0; i < 4; i++) {
      cmd(io, 0x08);
      results(io);
    }
    cmd(io, 0x03, 0xaf, 0x02);
    io.out8(0x3f7, 0);
    dma.program(0x8000, 512, 'write');
    cmd(io, 0x46, 0x00, 0, 0, 3, 2, 18, 0x1b, 0xff);
    expect(results(io).slice(0, 3)).toEqual([0, 0, 0]);
    expectSector(memory.mem, 0x8000, 2);
  });
});
