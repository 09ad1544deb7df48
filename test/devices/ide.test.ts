import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { BlockError, MemoryBlockDevice, type BlockDevice } from '../../core/disk/block.js';
import { Piix3Ide } from '../../core/devices/ide-pci.js';
import { IdeDisk } from '../../core/devices/ide.js';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';

const BASE = 0x1f0;
const CTL = 0x3f6;
const BM = 0xc000;

/** A disk whose every byte is a function of its offset (so reads can be checked anywhere). */
function pattern(offset: number): number {
  const sector = Math.floor(offset / 512);
  return (sector * 7 + (offset % 512) * 13 + Math.floor(sector / 256)) & 0xff;
}

function patternDisk(size: number): MemoryBlockDevice {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = pattern(i);
  return new MemoryBlockDevice(data);
}

/** A huge sparse disk (beyond LBA28) computing its contents; records writes. */
class HugeDisk implements BlockDevice {
  readonly readOnly = false;
  readonly writes = new Map<number, Uint8Array>();
  flushes = 0;
  constructor(readonly size: number) {}
  read(offset: number, buf: Uint8Array): void {
    if (offset + buf.length > this.size) throw new BlockError('beyond end');
    for (let i = 0; i < buf.length; i++) buf[i] = pattern(offset + i);
  }
  write(offset: number, data: Uint8Array): void {
    this.writes.set(offset, data.slice());
  }
  flush(): void {
    this.flushes++;
  }
}

function machine(drives: ConstructorParameters<typeof Piix3Ide>[0]['drives']) {
  const io = new IoBus();
  const memory = new PhysicalMemory(1 << 20);
  const irq = { 14: false, 15: false, raised: 0 };
  const ide = new Piix3Ide({
    io,
    memory,
    irq14: (l) => {
      irq[14] = l;
      if (l) irq.raised++;
    },
    irq15: (l) => (irq[15] = l),
    drives,
  });
  // Firmware-style PCI setup: BAR4 at 0xC000, I/O + bus master enabled.
  ide.pci.write(0x20, 4, BM);
  ide.pci.write(0x04, 2, 0x0005);
  return { io, memory, ide, irq };
}

function readWords(io: IoBus, count: number): Uint16Array {
  const w = new Uint16Array(count);
  for (let i = 0; i < count; i++) w[i] = io.in16(BASE);
  return w;
}

function bytesOf(words: Uint16Array): Uint8Array {
  return new Uint8Array(words.buffer.slice(0));
}

function ataString(words: Uint16Array, first: number, count: number): string {
  let s = '';
  for (let i = first; i < first + count; i++) s += String.fromCharCode(words[i] >> 8, words[i] & 0xff);
  return s.trimEnd();
}

function setLba28(io: IoBus, lba: number, count: number, drive = 0): void {
  io.out8(BASE + 6, 0xe0 | (drive << 4) | ((lba >>> 24) & 0x0f));
  io.out8(BASE + 2, count);
  io.out8(BASE + 3, lba & 0xff);
  io.out8(BASE + 4, (lba >>> 8) & 0xff);
  io.out8(BASE + 5, (lba >>> 16) & 0xff);
}

function setLba48(io: IoBus, lba: number, count: number): void {
  io.out8(BASE + 6, 0x40);
  io.out8(BASE + 2, count >>> 8);
  io.out8(BASE + 3, Math.floor(lba / 2 ** 24) & 0xff);
  io.out8(BASE + 4, Math.floor(lba / 2 ** 32) & 0xff);
  io.out8(BASE + 5, Math.floor(lba / 2 ** 40) & 0xff);
  io.out8(BASE + 2, count & 0xff);
  io.out8(BASE + 3, lba & 0xff);
  io.out8(BASE + 4, (lba >>> 8) & 0xff);
  io.out8(BASE + 5, (lba >>> 16) & 0xff);
}

function expectPattern(data: Uint8Array, byteOffset: number): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== pattern(byteOffset + i)) {
      throw new Error(`byte ${i}: got ${data[i]}, expected ${pattern(byteOffset + i)} (disk offset ${byteOffset + i})`);
    }
  }
}

/** Write a PRD table at `table` describing [addr, len] chunks. */
function prd(memory: PhysicalMemory, table: number, chunks: [number, number][]): void {
  chunks.forEach(([addr, len], i) => {
    memory.write32(table + i * 8, addr);
    memory.write32(table + i * 8 + 4, (len & 0xffff) | (i === chunks.length - 1 ? 0x80000000 : 0));
  });
}

describe('IDE hard disk', () => {
  it('reports its signature and an IDENTIFY block with geometry, capacity and modes', () => {
    const { io, irq } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    expect(io.in8(BASE + 2)).toBe(1);
    expect(io.in8(BASE + 3)).toBe(1);
    expect(io.in8(BASE + 4)).toBe(0);
    expect(io.in8(BASE + 5)).toBe(0);
    expect(io.in8(BASE + 7)).toBe(0x50);

    io.out8(BASE + 6, 0xa0);
    io.out8(BASE + 7, 0xec);
    expect(irq[14]).toBe(true);
    expect(io.in8(BASE + 7) & 0x08).toBe(0x08);
    expect(irq[14]).toBe(false); // reading status acknowledges
    const w = readWords(io, 256);
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect(ataString(w, 27, 20)).toBe('PERSEUS HARDDISK');
    expect(w[0]).toBe(0x0040);
    // 1 MiB = 2048 sectors: 16 heads, 63 sectors, 2048 / 1008 = 2 cylinders.
    expect([w[1], w[3], w[6]]).toEqual([2, 16, 63]);
    expect(w[60] | (w[61] << 16)).toBe(2048);
    expect(w[100] | (w[101] << 16)).toBe(2048);
    expect(w[83] & 0x0400).toBe(0x0400); // LBA48
    expect(w[49] & 0x0300).toBe(0x0300); // LBA and DMA
    expect(w[88] & 0x3f).toBe(0x3f); // UDMA 0-5 supported
    expect(w[63] & 0x07).toBe(0x07); // MWDMA 0-2 supported
  });

  it('caps the cylinder count at 16383 and keeps the LBA48 capacity of a huge disk', () => {
    const disk = new HugeDisk(2 ** 40); // 1 TiB
    const { io } = machine([{ kind: 'disk', device: disk }, null, null, null]);
    io.out8(BASE + 7, 0xec);
    const w = readWords(io, 256);
    expect(w[1]).toBe(16383);
    expect(w[60] | (w[61] << 16)).toBe(0x0fffffff);
    const total = w[100] + w[101] * 2 ** 16 + w[102] * 2 ** 32;
    expect(total).toBe(2 ** 31);
  });

  it('reads sectors by LBA and by CHS through PIO, pointing the task file after the transfer', () => {
    const { io, irq } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    setLba28(io, 100, 3);
    io.out8(BASE + 7, 0x20);
    for (let s = 0; s < 3; s++) {
      expect(irq[14]).toBe(true);
      expect(io.in8(BASE + 7)).toBe(0x58);
      expectPattern(bytesOf(readWords(io, 256)), (100 + s) * 512);
    }
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect(io.in8(BASE + 3)).toBe(103);
    expect(io.in8(BASE + 2)).toBe(0);

    // CHS: cylinder 1, head 2, sector 5 = (1*16 + 2) * 63 + 4 = 1138.
    io.out8(BASE + 6, 0xa2);
    io.out8(BASE + 2, 1);
    io.out8(BASE + 3, 5);
    io.out8(BASE + 4, 1);
    io.out8(BASE + 5, 0);
    io.out8(BASE + 7, 0x20);
    expect(io.in8(BASE + 7)).toBe(0x58);
    expectPattern(bytesOf(readWords(io, 256)), 1138 * 512);
  });

  it('reads with 32-bit data port accesses', () => {
    const { io } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    setLba28(io, 7, 1);
    io.out8(BASE + 7, 0x20);
    const out = new Uint32Array(128);
    for (let i = 0; i < 128; i++) out[i] = io.in32(BASE) >>> 0;
    expectPattern(new Uint8Array(out.buffer), 7 * 512);
  });

  it('writes sectors and multiple blocks, and READ MULTIPLE delivers blocks of N sectors', () => {
    const dev = patternDisk(1024 * 1024);
    const { io, irq } = machine([{ kind: 'disk', device: dev }, null, null, null]);
    setLba28(io, 10, 2);
    io.out8(BASE + 7, 0x30);
    expect(irq[14]).toBe(false); // first block needs no interrupt
    expect(io.in8(BASE + 7) & 0x08).toBe(0x08);
    for (let i = 0; i < 256; i++) io.out16(BASE, 0x1100 + i);
    expect(irq[14]).toBe(true);
    expect(io.in8(BASE + 7) & 0x08).toBe(0x08);
    for (let i = 0; i < 256; i++) io.out16(BASE, 0x2200 + i);
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect(dev.data[10 * 512]).toBe(0x00);
    expect(dev.data[10 * 512 + 1]).toBe(0x11);
    expect(dev.data[11 * 512 + 2]).toBe(0x01);
    expect(dev.data[11 * 512 + 3]).toBe(0x22);
    expect(dev.data[12 * 512]).toBe(pattern(12 * 512));

    // READ MULTIPLE without SET MULTIPLE MODE aborts.
    setLba28(io, 0, 8);
    io.out8(BASE + 7, 0xc4);
    expect(io.in8(BASE + 7)).toBe(0x51);
    expect(io.in8(BASE + 1)).toBe(0x04);
    // SET MULTIPLE MODE 4 then read 6 sectors: blocks of 4 and 2, one interrupt each.
    io.out8(BASE + 2, 4);
    io.out8(BASE + 7, 0xc6);
    expect(io.in8(BASE + 7)).toBe(0x50);
    setLba28(io, 20, 6);
    const before = irq.raised;
    io.out8(BASE + 7, 0xc4);
    io.in8(BASE + 7);
    expectPattern(bytesOf(readWords(io, 4 * 256)), 20 * 512);
    expect(irq.raised - before).toBe(2);
    io.in8(BASE + 7);
    expectPattern(bytesOf(readWords(io, 2 * 256)), 24 * 512);
    expect(io.in8(BASE + 7)).toBe(0x50);
    // Invalid multiple counts abort.
    io.out8(BASE + 2, 3);
    io.out8(BASE + 7, 0xc6);
    expect(io.in8(BASE + 7) & 1).toBe(1);
  });

  it('addresses sectors beyond 2^28 with LBA48 commands', () => {
    const disk = new HugeDisk(2 ** 48);
    const { io } = machine([{ kind: 'disk', device: disk }, null, null, null]);
    const lba = 0x123456789a;
    setLba48(io, lba, 2);
    io.out8(BASE + 7, 0x24);
    expect(io.in8(BASE + 7)).toBe(0x58);
    expectPattern(bytesOf(readWords(io, 256)), lba * 512);
    expectPattern(bytesOf(readWords(io, 256)), (lba + 1) * 512);
    // Task file now holds lba + 2, high bytes via HOB.
    expect(io.in8(BASE + 3)).toBe((lba + 2) & 0xff);
    io.out8(CTL, 0x80);
    expect(io.in8(BASE + 3)).toBe(Math.floor((lba + 2) / 2 ** 24) & 0xff);
    expect(io.in8(BASE + 5)).toBe(Math.floor((lba + 2) / 2 ** 40) & 0xff);
    io.out8(CTL, 0x00);

    setLba48(io, lba, 1);
    io.out8(BASE + 7, 0x34);
    for (let i = 0; i < 256; i++) io.out16(BASE, i);
    expect(io.in8(BASE + 7)).toBe(0x50);
    const written = disk.writes.get(lba * 512)!;
    expect(written[2]).toBe(1);
    expect(written[511]).toBe(0);

    io.out8(BASE + 7, 0xea);
    expect(disk.flushes).toBe(1);
    io.out8(BASE + 7, 0xe7);
    expect(disk.flushes).toBe(2);
  });

  it('reports IDNF for sectors out of range, ABRT for unknown commands, honours nIEN', () => {
    const { io, irq } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    setLba28(io, 2047, 2);
    io.out8(BASE + 7, 0x20);
    expect(io.in8(BASE + 7)).toBe(0x51);
    expect(io.in8(BASE + 1)).toBe(0x10);
    io.out8(BASE + 7, 0x5a); // not an ATA command
    expect(io.in8(BASE + 1)).toBe(0x04);
    // CHS sector 0 is invalid.
    io.out8(BASE + 6, 0xa0);
    io.out8(BASE + 3, 0);
    io.out8(BASE + 7, 0x20);
    expect(io.in8(BASE + 1)).toBe(0x10);

    io.out8(CTL, 0x02);
    setLba28(io, 0, 1);
    io.out8(BASE + 7, 0x20);
    expect(irq[14]).toBe(false);
    expect(io.in8(CTL)).toBe(0x58);
    io.out8(CTL, 0x00);
    expect(irq[14]).toBe(true); // still pending, now visible
  });

  it('resets through SRST and restores the signature; an absent slave reads status 0', () => {
    const { io } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    setLba28(io, 55, 9);
    io.out8(CTL, 0x04);
    expect(io.in8(CTL) & 0x80).toBe(0x80);
    io.out8(CTL, 0x00);
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect([io.in8(BASE + 2), io.in8(BASE + 3), io.in8(BASE + 4), io.in8(BASE + 5)]).toEqual([1, 1, 0, 0]);
    expect(io.in8(BASE + 1)).toBe(0x01);
    io.out8(BASE + 6, 0xb0);
    expect(io.in8(BASE + 7)).toBe(0);
    io.out8(BASE + 7, 0xec); // ignored: no drive
    expect(io.in8(BASE + 7)).toBe(0);
    // A channel with nothing attached floats.
    expect(io.in8(0x177)).toBe(0xff);
  });

  it('moves data by DMA through a PRD table, both directions, and flags a short table', () => {
    const dev = patternDisk(1024 * 1024);
    const { io, memory, irq } = machine([{ kind: 'disk', device: dev }, null, null, null]);
    // Scatter 5 sectors into three pieces.
    prd(memory, 0x1000, [[0x10000, 1024], [0x20000, 512], [0x30000, 1024]]);
    io.out32(BM + 4, 0x1000);
    setLba28(io, 300, 5);
    io.out8(BASE + 7, 0xc8);
    expect(irq[14]).toBe(false); // waits for the bus master
    io.out8(BM, 0x09); // start, device to memory
    expect(irq[14]).toBe(true);
    expect(io.in8(BM + 2) & 0x07).toBe(0x04); // interrupt, not active, no error
    expect(io.in8(BASE + 7)).toBe(0x50);
    expectPattern(memory.mem.subarray(0x10000, 0x10400), 300 * 512);
    expectPattern(memory.mem.subarray(0x20000, 0x20200), 302 * 512);
    expectPattern(memory.mem.subarray(0x30000, 0x30400), 303 * 512);
    io.out8(BM, 0x00);
    io.out8(BM + 2, 0x04);
    expect(io.in8(BM + 2) & 0x04).toBe(0);

    // Write DMA with the bus master started first.
    memory.mem.fill(0xab, 0x40000, 0x40400);
    prd(memory, 0x1000, [[0x40000, 1024]]);
    io.out8(BM, 0x01);
    setLba28(io, 7, 2);
    io.out8(BASE + 7, 0xca);
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect(dev.data.subarray(7 * 512, 9 * 512).every((b) => b === 0xab)).toBe(true);
    io.out8(BM, 0x00);

    // The table covers less than the command: error in the drive and the bus master.
    prd(memory, 0x1000, [[0x50000, 512]]);
    setLba28(io, 0, 4);
    io.out8(BASE + 7, 0xc8);
    io.out8(BM, 0x09);
    expect(io.in8(BASE + 7) & 0x01).toBe(1);
    expect(io.in8(BM + 2) & 0x03).toBe(0x02);
  });

  it('survives a PRD table pointing at unmapped memory and huge counts', () => {
    const { io, memory } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    prd(memory, 0x1000, [[0xfffff000, 0]]); // 64 KiB at the top of the address space (open bus)
    io.out32(BM + 4, 0x1000);
    setLba28(io, 0, 0); // 0 = 256 sectors = 128 KiB
    io.out8(BASE + 7, 0xc8);
    io.out8(BM, 0x09);
    expect(io.in8(BASE + 7) & 0x01).toBe(1);
    // A table in open bus reads as all ones: one final entry near the top of the address space.
    io.out32(BM + 4, 0xfff00000);
    io.out8(BM, 0x00);
    setLba28(io, 0, 1);
    io.out8(BASE + 7, 0xc8);
    io.out8(BM, 0x09);
    expect(io.in8(BASE + 7)).toBe(0x50);
  });

  it('supports SET FEATURES transfer modes, INITIALIZE DEVICE PARAMETERS and power commands', () => {
    const { io } = machine([{ kind: 'disk', device: patternDisk(1024 * 1024) }, null, null, null]);
    io.out8(BASE + 1, 0x03);
    io.out8(BASE + 2, 0x40 | 5); // UDMA 5
    io.out8(BASE + 7, 0xef);
    expect(io.in8(BASE + 7)).toBe(0x50);
    io.out8(BASE + 1, 0x03);
    io.out8(BASE + 2, 0x22); // MWDMA 2
    io.out8(BASE + 7, 0xef);
    io.out8(BASE + 1, 0x77); // unknown subcommand
    io.out8(BASE + 7, 0xef);
    expect(io.in8(BASE + 7) & 1).toBe(1);
    io.out8(BASE + 6, 0xa0 | 7); // 8 heads
    io.out8(BASE + 2, 32); // 32 sectors per track
    io.out8(BASE + 7, 0x91);
    io.out8(BASE + 6, 0xa0);
    io.out8(BASE + 7, 0xec);
    const w = readWords(io, 256);
    expect(w[63] >> 8).toBe(0x04);
    expect(w[88] >> 8).toBe(0x00);
    expect([w[54], w[55], w[56]]).toEqual([8, 8, 32]);
    io.out8(BASE + 7, 0xe0);
    io.out8(BASE + 7, 0xe5);
    expect(io.in8(BASE + 2)).toBe(0x00);
    io.out8(BASE + 7, 0xe1);
    io.out8(BASE + 7, 0xe5);
    expect(io.in8(BASE + 2)).toBe(0xff);
  });

  it('reports a block device error as an uncorrectable error, not an exception', () => {
    const broken: BlockDevice = {
      size: 1024 * 1024,
      readOnly: false,
      read() {
        throw new BlockError('I/O error');
      },
      write() {
        throw new BlockError('I/O error');
      },
      flush() {},
    };
    const { io } = machine([{ kind: 'disk', device: broken }, null, null, null]);
    setLba28(io, 1, 1);
    io.out8(BASE + 7, 0x20);
    expect(io.in8(BASE + 7) & 1).toBe(1);
    expect(io.in8(BASE + 1) & 0x40).toBe(0x40);
  });

  it('refuses writes to a read-only image', () => {
    const { io } = machine([{ kind: 'disk', device: new MemoryBlockDevice(new Uint8Array(1024 * 1024), true) }, null, null, null]);
    setLba28(io, 1, 1);
    io.out8(BASE + 7, 0x30);
    expect(io.in8(BASE + 7)).toBe(0x51);
  });

  it('saves mid-transfer, loads into a fresh controller and continues identically', () => {
    const dev = patternDisk(1024 * 1024);
    const a = machine([{ kind: 'disk', device: dev }, null, null, null]);
    setLba28(a.io, 40, 3);
    a.io.out8(BASE + 7, 0x20);
    readWords(a.io, 100);
    const file = encodeState(a.ide.stateParts());
    const b = machine([{ kind: 'disk', device: dev }, null, null, null]);
    applyState(b.ide.stateParts(), decodeState(file));
    expect(encodeState(b.ide.stateParts())).toEqual(file);
    expect(b.irq[14]).toBe(true);
    const rest = bytesOf(readWords(b.io, 156 + 512));
    expectPattern(rest, 40 * 512 + 200);
    expect(b.io.in8(BASE + 7)).toBe(0x50);
    expect(b.io.in8(BM + 2)).toBe(a.io.in8(BM + 2));
    expect(b.ide.drive(0)).toBeInstanceOf(IdeDisk);
  });
});

describe('IDE robustness', () => {
  it('survives random register, data and bus-master traffic without throwing', () => {
    let seed = 0x12345678;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const cd = new MemoryBlockDevice(new Uint8Array(64 * 2048), true);
    const { io, memory } = machine([{ kind: 'disk', device: patternDisk(256 * 1024) }, { kind: 'cdrom', device: cd }, null, null]);
    // Plausible PRD tables at random places, the rest of memory random too.
    for (let i = 0; i < 0x2000; i++) memory.mem[i] = rnd(256);
    const ports = [BASE, BASE + 1, BASE + 2, BASE + 3, BASE + 4, BASE + 5, BASE + 6, BASE + 7, CTL, BM, BM + 2, BM + 4];
    const commands = [0x20, 0x24, 0x25, 0x29, 0x30, 0x35, 0x39, 0x40, 0x91, 0xa0, 0xa1, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe7, 0xec, 0xef, 0x08];
    for (let i = 0; i < 50000; i++) {
      const port = ports[rnd(ports.length)];
      switch (rnd(5)) {
        case 0: io.in8(port); break;
        case 1: io.out8(port, port === BASE + 7 ? commands[rnd(commands.length)] : rnd(256)); break;
        case 2: io.in16(BASE); break;
        case 3: io.out16(BASE, rnd(65536)); break;
        default: io.out32(BM + 4, rnd(0x2000)); io.out8(BM, rnd(2) ? 0x09 : 0x01); break;
      }
    }
    // Still a working disk afterwards.
    io.out8(CTL, 0x04);
    io.out8(CTL, 0x00);
    io.out8(BM, 0);
    setLba28(io, 3, 1);
    io.out8(BASE + 7, 0x20);
    expect(io.in8(BASE + 7)).toBe(0x58);
  });
});
