import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { AtapiDrive } from '../../core/devices/ide-atapi.js';
import { Piix3Ide } from '../../core/devices/ide-pci.js';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';

const BASE = 0x170;
const BM = 0xc000 + 8;

function disc(sectors: number, seed = 0): MemoryBlockDevice {
  const data = new Uint8Array(sectors * 2048);
  for (let s = 0; s < sectors; s++) {
    for (let i = 0; i < 2048; i += 4) {
      data[s * 2048 + i] = s & 0xff;
      data[s * 2048 + i + 1] = (s >> 8) & 0xff;
      data[s * 2048 + i + 2] = (i >> 2) & 0xff;
      data[s * 2048 + i + 3] = seed;
    }
  }
  return new MemoryBlockDevice(data, true);
}

function machine(media: MemoryBlockDevice | null) {
  const io = new IoBus();
  const memory = new PhysicalMemory(1 << 20);
  const irq = { level: false, count: 0 };
  const ide = new Piix3Ide({
    io,
    memory,
    irq14: () => {},
    irq15: (l) => {
      irq.level = l;
      if (l) irq.count++;
    },
    drives: [null, null, { kind: 'cdrom', device: media }, null],
  });
  ide.pci.write(0x20, 4, 0xc000);
  ide.pci.write(0x04, 2, 0x0005);
  const cd = ide.drive(2) as AtapiDrive;
  return { io, memory, ide, irq, cd };
}

interface Result {
  data: Uint8Array;
  status: number;
  error: number;
  blocks: number[];
}

/** Issue a PACKET command and run its PIO data-in phase. */
function packet(io: IoBus, cdb: number[], byteLimit = 0xfffe): Result {
  io.out8(BASE + 6, 0xa0);
  io.out8(BASE + 1, 0);
  io.out8(BASE + 4, byteLimit & 0xff);
  io.out8(BASE + 5, byteLimit >> 8);
  io.out8(BASE + 7, 0xa0);
  const st = io.in8(BASE + 7);
  if (!(st & 0x08) || io.in8(BASE + 2) !== 1) throw new Error(`no packet phase: status ${st.toString(16)}`);
  const bytes = [...cdb, ...new Array(12 - cdb.length).fill(0)];
  for (let i = 0; i < 12; i += 2) io.out16(BASE, bytes[i] | (bytes[i + 1] << 8));
  const out: number[] = [];
  const blocks: number[] = [];
  for (let guard = 0; guard < 100000; guard++) {
    const s = io.in8(BASE + 7);
    if (!(s & 0x08)) break;
    expect(io.in8(BASE + 2)).toBe(0x02); // data to host
    const n = io.in8(BASE + 4) | (io.in8(BASE + 5) << 8);
    blocks.push(n);
    for (let i = 0; i < n; i += 2) {
      const w = io.in16(BASE);
      out.push(w & 0xff, w >> 8);
    }
    if (n & 1) out.pop();
  }
  return { data: new Uint8Array(out), status: io.in8(BASE + 7), error: io.in8(BASE + 1), blocks };
}

function sense(io: IoBus): [number, number, number] {
  const r = packet(io, [0x03, 0, 0, 0, 18]);
  return [r.data[2] & 0x0f, r.data[12], r.data[13]];
}

function be32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function checkSector(data: Uint8Array, at: number, lba: number, seed = 0): void {
  for (let i = 0; i < 2048; i += 4) {
    if (data[at + i] !== (lba & 0xff) || data[at + i + 1] !== ((lba >> 8) & 0xff) || data[at + i + 2] !== ((i >> 2) & 0xff) || data[at + i + 3] !== seed) {
      throw new Error(`sector ${lba} byte ${i} mismatch`);
    }
  }
}

describe('ATAPI CD-ROM', () => {
  it('shows the packet signature, aborts IDENTIFY DEVICE and answers IDENTIFY PACKET DEVICE', () => {
    const { io } = machine(disc(100));
    expect([io.in8(BASE + 2), io.in8(BASE + 3), io.in8(BASE + 4), io.in8(BASE + 5)]).toEqual([1, 1, 0x14, 0xeb]);
    io.out8(BASE + 7, 0xec);
    expect(io.in8(BASE + 7) & 1).toBe(1);
    expect(io.in8(BASE + 1)).toBe(0x04);
    expect(io.in8(BASE + 4) | (io.in8(BASE + 5) << 8)).toBe(0xeb14);
    io.out8(BASE + 7, 0xa1);
    expect(io.in8(BASE + 7) & 0x08).toBe(0x08);
    const w = new Uint16Array(256);
    for (let i = 0; i < 256; i++) w[i] = io.in16(BASE);
    expect(w[0]).toBe(0x85c0);
    let model = '';
    for (let i = 27; i < 47; i++) model += String.fromCharCode(w[i] >> 8, w[i] & 0xff);
    expect(model.trimEnd()).toBe('PERSEUS CD-ROM');
    expect(w[49] & 0x0100).toBe(0x0100);
  });

  it('raises UNIT ATTENTION once after a disc change, then reads', () => {
    const { io, cd } = machine(disc(100));
    cd.changeMedia(disc(300, 7));
    const tur = packet(io, [0x00]);
    expect(tur.status & 1).toBe(1);
    expect(tur.error >> 4).toBe(6);
    expect(sense(io)).toEqual([6, 0x28, 0]);
    expect(packet(io, [0x00]).status).toBe(0x50);
    const r = packet(io, [0x28, 0, 0, 0, 0x01, 0x00, 0, 0, 1]);
    checkSector(r.data, 0, 256, 7);
  });

  it('reports the sense of the last failure through REQUEST SENSE', () => {
    const { io, cd } = machine(disc(100));
    cd.changeMedia(disc(300, 7));
    // REQUEST SENSE first reports the pending unit attention itself.
    expect(sense(io)).toEqual([6, 0x28, 0]);
    expect(packet(io, [0x00]).status & 1).toBe(0);
    // An illegal opcode, then its sense.
    const bad = packet(io, [0xff]);
    expect(bad.status & 1).toBe(1);
    expect(sense(io)).toEqual([5, 0x20, 0]);
    expect(sense(io)).toEqual([0, 0, 0]);
    // Reading past the end.
    expect(packet(io, [0x28, 0, 0, 0, 0x01, 0x2c, 0, 0, 1]).status & 1).toBe(1);
    expect(sense(io)).toEqual([5, 0x21, 0]);
  });

  it('reads sectors with READ(10) and READ(12) in DRQ blocks bounded by the byte count limit', () => {
    const { io, irq } = machine(disc(100));
    packet(io, [0x00]); // consume the power-on state (no unit attention at power-on)
    const before = irq.count;
    const r = packet(io, [0x28, 0, 0, 0, 0, 10, 0, 0, 3], 5000);
    expect(r.status).toBe(0x50);
    expect(io.in8(BASE + 2)).toBe(0x03); // command complete
    expect(r.data.length).toBe(3 * 2048);
    for (let s = 0; s < 3; s++) checkSector(r.data, s * 2048, 10 + s);
    expect(Math.max(...r.blocks)).toBeLessThanOrEqual(5000);
    expect(r.blocks.reduce((a, b) => a + b, 0)).toBe(6144);
    expect(irq.count - before).toBe(r.blocks.length + 1);
    // An odd limit is rounded down when more data follows.
    const odd = packet(io, [0x28, 0, 0, 0, 0, 0, 0, 0, 1], 999);
    expect(odd.blocks.every((n) => n % 2 === 0 || n === odd.blocks[odd.blocks.length - 1])).toBe(true);
    checkSector(odd.data, 0, 0);
    // READ(12): 40 sectors (larger than one buffer fill).
    const big = packet(io, [0xa8, 0, 0, 0, 0, 50, 0, 0, 0, 40]);
    expect(big.data.length).toBe(40 * 2048);
    for (let s = 0; s < 40; s++) checkSector(big.data, s * 2048, 50 + s);
    // READ CD with user data only.
    const rcd = packet(io, [0xbe, 0, 0, 0, 0, 5, 0, 0, 2, 0x10]);
    checkSector(rcd.data, 0, 5);
    checkSector(rcd.data, 2048, 6);
    // Raw READ CD: sync pattern, MSF header 00:02:05, mode 1.
    const raw = packet(io, [0xbe, 0, 0, 0, 0, 5, 0, 0, 1, 0xf8]);
    expect(raw.data.length).toBe(2352);
    expect(Array.from(raw.data.subarray(0, 16))).toEqual([0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0x00, 0x02, 0x05, 1]);
    checkSector(raw.data, 16, 5);
  });

  it('reads through the bus master when the PACKET asks for DMA', () => {
    const { io, memory } = machine(disc(100));
    memory.write32(0x2000, 0x10000);
    memory.write32(0x2004, 0x80000000 | 3 * 2048);
    io.out32(BM + 4, 0x2000);
    io.out8(BASE + 1, 0x01);
    io.out8(BASE + 7, 0xa0);
    const cdb = [0x28, 0, 0, 0, 0, 20, 0, 0, 3, 0, 0, 0];
    for (let i = 0; i < 12; i += 2) io.out16(BASE, cdb[i] | (cdb[i + 1] << 8));
    io.out8(BM, 0x09);
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect(io.in8(BM + 2) & 0x07).toBe(0x04);
    for (let s = 0; s < 3; s++) checkSector(memory.mem, 0x10000 + s * 2048, 20 + s);
  });

  it('reports capacity and the TOC in formats 0, 1 and 2, in LBA and MSF', () => {
    const { io } = machine(disc(1000));
    const cap = packet(io, [0x25]);
    expect(be32(cap.data, 0)).toBe(999);
    expect(be32(cap.data, 4)).toBe(2048);

    const toc = packet(io, [0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24]);
    expect(toc.data.length).toBe(20);
    expect((toc.data[0] << 8) | toc.data[1]).toBe(18);
    expect([toc.data[2], toc.data[3]]).toEqual([1, 1]);
    expect([toc.data[5], toc.data[6], be32(toc.data, 8)]).toEqual([0x14, 1, 0]);
    expect([toc.data[14], be32(toc.data, 16)]).toEqual([0xaa, 1000]);
    const msf = packet(io, [0x43, 0x02, 0, 0, 0, 0, 0, 0x03, 0x24]);
    expect(Array.from(msf.data.subarray(8, 12))).toEqual([0, 0, 2, 0]);
    // Lead-out at 1000 + 150 frames = 00:15:25.
    expect(Array.from(msf.data.subarray(16, 20))).toEqual([0, 0, 15, 25]);
    // Starting at the lead-out returns only it; an unknown track is an error.
    expect(packet(io, [0x43, 0, 0, 0, 0, 0, 0xaa, 0, 0xff]).data.length).toBe(12);
    expect(packet(io, [0x43, 0, 0, 0, 0, 0, 5, 0, 0xff]).status & 1).toBe(1);

    const session = packet(io, [0x43, 0, 1, 0, 0, 0, 0, 0, 12]);
    expect(session.data.length).toBe(12);
    expect([session.data[2], session.data[3], session.data[6]]).toEqual([1, 1, 1]);

    const raw = packet(io, [0x43, 0x02, 2, 0, 0, 0, 0, 0x03, 0x00]);
    expect(raw.data.length).toBe(4 + 4 * 11);
    const points = [0, 1, 2, 3].map((i) => raw.data[4 + i * 11 + 3]);
    expect(points).toEqual([0xa0, 0xa1, 0xa2, 1]);
    expect(Array.from(raw.data.subarray(4 + 2 * 11 + 8, 4 + 2 * 11 + 11))).toEqual([0, 15, 25]);
    // Allocation length truncates.
    expect(packet(io, [0x43, 0, 0, 0, 0, 0, 0, 0, 6]).data.length).toBe(6);
  });

  it('answers INQUIRY, MODE SENSE (capabilities page), GET CONFIGURATION and disc information', () => {
    const { io } = machine(disc(100));
    const inq = packet(io, [0x12, 0, 0, 0, 36]);
    expect(inq.data[0]).toBe(0x05);
    expect(inq.data[1]).toBe(0x80);
    expect(new TextDecoder().decode(inq.data.subarray(8, 16))).toBe('PERSEUS ');

    const ms = packet(io, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0xff]);
    expect(ms.data[8]).toBe(0x2a);
    expect(ms.data[9]).toBe(0x14);
    expect(((ms.data[0] << 8) | ms.data[1]) + 2).toBe(ms.data.length);
    expect(ms.data[8 + 6] & 0x08).toBe(0x08); // eject supported
    const ms6 = packet(io, [0x1a, 0, 0x3f, 0, 0xff]);
    expect(ms6.data[0] + 1).toBe(ms6.data.length);
    expect(ms6.data[4]).toBe(0x01);
    expect(packet(io, [0x1a, 0, 0xc0 | 0x2a, 0, 0xff]).status & 1).toBe(1);
    expect(sense(io)).toEqual([5, 0x39, 0]);

    const conf = packet(io, [0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    expect((conf.data[6] << 8) | conf.data[7]).toBe(0x0008);
    expect(be32(conf.data, 0) + 4).toBe(conf.data.length);
    expect((conf.data[8] << 8) | conf.data[9]).toBe(0x0000);
    const only = packet(io, [0x46, 2, 0, 0x03, 0, 0, 0, 0x01, 0x00]);
    expect(only.data.length).toBe(8 + 8);
    expect((only.data[8] << 8) | only.data[9]).toBe(0x0003);

    const info = packet(io, [0x51, 0, 0, 0, 0, 0, 0, 0, 34]);
    expect(info.data.length).toBe(34);
    expect(info.data[2] & 0x03).toBe(0x02);

    // MODE SELECT parameter data is accepted and ignored.
    io.out8(BASE + 4, 0xfe);
    io.out8(BASE + 5, 0xff);
    io.out8(BASE + 7, 0xa0);
    const sel = [0x55, 0x10, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0];
    for (let i = 0; i < 12; i += 2) io.out16(BASE, sel[i] | (sel[i + 1] << 8));
    expect(io.in8(BASE + 7) & 0x08).toBe(0x08);
    expect(io.in8(BASE + 2)).toBe(0x00); // data to device
    for (let i = 0; i < 4; i++) io.out16(BASE, 0);
    expect(io.in8(BASE + 7)).toBe(0x50);
    expect(io.in8(BASE + 2)).toBe(0x03);
  });

  it('reports NOT READY / medium not present with an empty tray, and media events', () => {
    const { io, cd } = machine(null);
    const tur = packet(io, [0x00]);
    expect(tur.error >> 4).toBe(2);
    expect(sense(io)).toEqual([2, 0x3a, 0x01]);
    expect(packet(io, [0x28, 0, 0, 0, 0, 0, 0, 0, 1]).status & 1).toBe(1);
    expect(packet(io, [0x25]).status & 1).toBe(1);
    expect(packet(io, [0x46, 0, 0, 0, 0, 0, 0, 0, 8]).data[7]).toBe(0x00); // no current profile
    const none = packet(io, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    expect([none.data[4], none.data[5]]).toEqual([0, 0]);

    cd.changeMedia(disc(50));
    const ev = packet(io, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]);
    expect(ev.data[2]).toBe(0x04);
    expect(ev.data[4]).toBe(2); // new media
    expect(ev.data[5]).toBe(0x02); // present
    expect(packet(io, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]).data[4]).toBe(0);
    expect(packet(io, [0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8]).status & 1).toBe(1); // asynchronous: refused
    expect(packet(io, [0x00]).error >> 4).toBe(6);
    expect(packet(io, [0x00]).status).toBe(0x50);
  });

  it('ejects through START STOP UNIT unless removal is prevented', () => {
    const { io, cd } = machine(disc(50));
    expect(packet(io, [0x1e, 0, 0, 0, 1]).status).toBe(0x50);
    expect(packet(io, [0x1b, 0, 0, 0, 0x02]).status & 1).toBe(1);
    expect(sense(io)).toEqual([5, 0x53, 0x02]);
    packet(io, [0x1e, 0, 0, 0, 0]);
    expect(packet(io, [0x1b, 0, 0, 0, 0x02]).status).toBe(0x50);
    expect(cd.trayOpen).toBe(true);
    packet(io, [0x00]);
    expect(sense(io)).toEqual([2, 0x3a, 0x02]); // tray open
    expect(packet(io, [0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]).data[4]).toBe(3); // media removal
    packet(io, [0x1b, 0, 0, 0, 0x03]); // load
    expect(packet(io, [0x00]).error >> 4).toBe(6);
    expect(packet(io, [0x00]).status).toBe(0x50);
  });

  it('round-trips its state byte-identically in the middle of a READ', () => {
    const media = disc(100);
    const a = machine(media);
    a.io.out8(BASE + 4, 0x00);
    a.io.out8(BASE + 5, 0x08);
    a.io.out8(BASE + 7, 0xa0);
    const cdb = [0x28, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0];
    for (let i = 0; i < 12; i += 2) a.io.out16(BASE, cdb[i] | (cdb[i + 1] << 8));
    const first = io16Read(a.io, 100);
    const file = encodeState(a.ide.stateParts());
    const b = machine(media);
    applyState(b.ide.stateParts(), decodeState(file));
    expect(encodeState(b.ide.stateParts())).toEqual(file);
    const restA = io16Read(a.io, 2048 - 100);
    const restB = io16Read(b.io, 2048 - 100);
    expect(restB).toEqual(restA);
    const all = new Uint8Array(4096);
    all.set(first, 0);
    all.set(restB, 200);
    // The rest of sector 3 came from the first DRQ block; sector 4 follows in the next ones.
    checkSector(all, 0, 3);
    checkSector(all, 2048, 4);
  });
});

/** Read `words` 16-bit words from the data port as bytes. */
function io16Read(io: IoBus, words: number): Uint8Array {
  const out = new Uint8Array(words * 2);
  for (let i = 0; i < words; i++) {
    const w = io.in16(BASE);
    out[i * 2] = w & 0xff;
    out[i * 2 + 1] = w >> 8;
  }
  return out;
}
