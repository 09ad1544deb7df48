// PCI configuration mechanism, i440FX PAM, PIIX3 PIRQ/ELCR/0xCF9, the 8237 DMA pair,
// port 0x92, ACPI PM and fw_cfg.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { IsaIrqs } from '../../core/bus/irq.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { PciBus, PciFunction, pciConfigPorts } from '../../core/bus/pci.js';
import { AcpiPm, PM_TIMER_HZ } from '../../core/devices/acpi-pm.js';
import { Dma8237 } from '../../core/devices/dma8237.js';
import { FwCfg } from '../../core/devices/fwcfg.js';
import { I440fx } from '../../core/devices/i440fx.js';
import { DualPic } from '../../core/devices/pic.js';
import { Piix3 } from '../../core/devices/piix3.js';
import { Port92 } from '../../core/devices/port92.js';
import { expectRoundTrip, LineRecorder, testClock } from './platform-helpers.js';

function chipset() {
  const io = new IoBus();
  const memory = new PhysicalMemory(2 << 20, 0x40000);
  const lowRom = memory.allocate(0x40000);
  memory.mem.fill(0xab, lowRom, lowRom + 0x40000);
  const irqs = new IsaIrqs();
  const pic = new DualPic();
  irqs.addSink(pic);
  const levels: boolean[] = new Array(16).fill(false);
  irqs.addSink({ setIrq: (i, l) => { levels[i] = l; } });
  const bus = new PciBus();
  let resets = 0;
  const host = new I440fx(memory, lowRom);
  const piix3 = new Piix3(irqs, pic, () => resets++);
  bus.router = piix3;
  bus.add(0, 0, host);
  bus.add(1, 0, piix3);
  const cfg = pciConfigPorts(bus, piix3.resetControl);
  io.register('pci-addr', 0xcf8, 4, cfg.address);
  io.register('pci-data', 0xcfc, 4, cfg.data);
  io.register('elcr', 0x4d0, 2, piix3.elcrPorts);
  const addr = (dev: number, fn: number, reg: number) => (0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
  const read = (dev: number, fn: number, reg: number) => { io.out32(0xcf8, addr(dev, fn, reg)); return io.in32(0xcfc) >>> 0; };
  const write = (dev: number, fn: number, reg: number, v: number) => { io.out32(0xcf8, addr(dev, fn, reg)); io.out32(0xcfc, v); };
  return { io, memory, irqs, pic, bus, host, piix3, read, write, levels, resets: () => resets };
}

describe('PCI and the i440FX/PIIX3 chipset', () => {
  it('config mechanism #1 reads IDs and absent slots read all ones', () => {
    const c = chipset();
    expect(c.read(0, 0, 0)).toBe(0x12378086);
    expect(c.read(1, 0, 0)).toBe(0x70008086);
    expect(c.read(1, 0, 8) >>> 8).toBe(0x060100);
    expect(c.read(5, 0, 0)).toBe(0xffffffff);
    c.io.out32(0xcf8, 0x80000000);
    expect(c.io.in16(0xcfe)).toBe(0x1237);
    expect(c.io.in32(0xcf8) >>> 0).toBe(0x80000000);
  });

  it('sizes and maps BARs into the buses, honouring the command register', () => {
    const c = chipset();
    const mapped: (number | null)[] = [];
    const f = new PciFunction('t', { vendor: 0x1234, device: 0x5678, classCode: 0xff0000, interruptPin: 1 });
    f.setBar(0, { size: 0x20, kind: 'io', map: (b) => mapped.push(b) });
    c.bus.add(3, 0, f);
    c.write(3, 0, 0x10, 0xffffffff);
    expect(c.read(3, 0, 0x10)).toBe(0xffffffe1);
    c.write(3, 0, 0x10, 0xc040);
    expect(mapped).toEqual([]);
    c.write(3, 0, 4, 1); // I/O decode on
    expect(mapped).toEqual([0xc040]);
    c.write(3, 0, 4, 0);
    expect(mapped).toEqual([0xc040, null]);
  });

  it('routes INTx through PIRQ registers to ISA IRQs; ELCR and 0xCF9', () => {
    const c = chipset();
    const f = new PciFunction('t', { vendor: 0x1234, device: 1, classCode: 0, interruptPin: 1 });
    c.bus.add(3, 0, f);
    // Slot 3 INTA → PIRQC (register 0x62).
    c.write(1, 0, 0x60, 0x0b0b0a0a);
    f.setIrq(true);
    expect(c.levels[11]).toBe(true);
    c.write(1, 0, 0x60, 0x0b050a0a); // PIRQC → IRQ 5: the level moves
    expect(c.levels[11]).toBe(false);
    expect(c.levels[5]).toBe(true);
    f.setIrq(false);
    expect(c.levels[5]).toBe(false);
    c.io.out8(0x4d1, 0xff);
    expect(c.io.in8(0x4d1)).toBe(0xde);
    c.io.out8(0xcf9, 0x02);
    expect(c.resets()).toBe(0);
    c.io.out8(0xcf9, 0x06);
    expect(c.resets()).toBe(1);
  });

  it('PAM switches 0xF0000 and 0xC0000 between ROM and RAM', () => {
    const c = chipset();
    const m = c.memory;
    expect(m.read8(0xf0000)).toBe(0xab);
    m.write8(0xf0000, 0x11);
    expect(m.read8(0xf0000)).toBe(0xab); // ROM: write dropped
    c.write(0, 0, 0x58, 0x00003000); // PAM0 (0x59) = 0x30: F segment RAM read/write
    m.write8(0xf0000, 0x11);
    expect(m.read8(0xf0000)).toBe(0x11);
    c.write(0, 0, 0x58, 0x00001000); // read RAM, write to ROM side
    m.write8(0xf0000, 0x22);
    expect(m.read8(0xf0000)).toBe(0x11);
    c.write(0, 0, 0x58, 0x00021000); // PAM1 (0x5A) low: 0xC0000-0xC3FFF write-only RAM
    m.write8(0xc0000, 0x33);
    expect(m.read8(0xc0000)).toBe(0xab);
    c.write(0, 0, 0x58, 0x00031000);
    expect(m.read8(0xc0000)).toBe(0x33);
    const other = chipset();
    expectRoundTrip([c.host, c.piix3], [other.host, other.piix3]);
    expect(other.memory.read8(0xc0000)).toBe(other.memory.mem[0xc0000]);
  });
});

describe('8237 DMA', () => {
  it('transfers with page register, count, terminal count and auto-init', () => {
    const io = new IoBus();
    const memory = new PhysicalMemory(2 << 20);
    const dma = new Dma8237(memory);
    io.register('dma1', 0x00, 16, dma.controllerPorts(0));
    io.register('dma2', 0xc0, 32, dma.controllerPorts(1));
    io.register('page', 0x80, 16, dma.pagePorts);
    io.out8(0x0a, 0x06); // mask ch2
    io.out8(0x0c, 0);
    io.out8(0x04, 0x00); io.out8(0x04, 0x10); // address 0x1000
    io.out8(0x05, 0x03); io.out8(0x05, 0x00); // count 3 → 4 bytes
    io.out8(0x81, 0x01); // page 1
    io.out8(0x0b, 0x46); // single, write to memory, ch2
    const ch = dma.channel(2);
    expect(ch.enabled).toBe(false);
    io.out8(0x0a, 0x02);
    expect(ch.enabled).toBe(true);
    expect(ch.direction).toBe('write');
    expect(ch.writeToMemory(Uint8Array.of(1, 2, 3, 4, 5, 6))).toBe(4);
    expect(Array.from(memory.mem.subarray(0x11000, 0x11005))).toEqual([1, 2, 3, 4, 0]);
    expect(ch.terminalCount).toBe(true);
    expect(io.in8(0x08) & 0x04).toBe(0x04);
    expect(io.in8(0x08) & 0x04).toBe(0); // cleared by reading
    expect(ch.enabled).toBe(false); // masked at TC without auto-init
    // Auto-init read from memory on a 16-bit channel (5): word addressing.
    memory.mem.set([9, 8, 7, 6], 0x20004);
    io.out8(0xd8, 0);
    io.out8(0xc4, 0x02); io.out8(0xc4, 0x00); // word address 2 → byte 4
    io.out8(0xc6, 0x01); io.out8(0xc6, 0x00); // 2 words
    io.out8(0x8b, 0x02);
    io.out8(0xd6, 0x59); // single, auto-init, read, ch5
    io.out8(0xd4, 0x01);
    const buf = new Uint8Array(8);
    expect(dma.channel(5).readFromMemory(buf)).toBe(4);
    expect(Array.from(buf.subarray(0, 4))).toEqual([9, 8, 7, 6]);
    expect(dma.channel(5).enabled).toBe(true);
    expect(dma.channel(5).remaining).toBe(4);
    const other = new Dma8237(memory);
    expectRoundTrip([dma], [other]);
  });
});

describe('port 0x92, ACPI PM, fw_cfg', () => {
  it('port 0x92 fast A20 and reset', () => {
    const memory = new PhysicalMemory(2 << 20);
    let resets = 0;
    const p = new Port92(memory, () => resets++);
    p.write8(0, 0x00);
    expect(memory.a20Enabled).toBe(false);
    expect(p.read8()).toBe(0);
    p.write8(0, 0x02);
    expect(p.read8()).toBe(0x02);
    p.write8(0, 0x03);
    expect(resets).toBe(1);
  });

  it('ACPI PM: timer at 3.579545 MHz, power button SCI, S5 power-off, ACPI enable via 0xB2', () => {
    const io = new IoBus();
    const t = testClock();
    const sci = new LineRecorder();
    let off = 0;
    const pm = new AcpiPm(io, t.clock, sci, () => off++);
    pm.writeConfig(0x40, 0xb001, 4);
    pm.writeConfig(0x80, 1, 1);
    const t0 = io.in32(0xb008);
    t.advance(1e9);
    expect(((io.in32(0xb008) - t0) & 0xffffff)).toBe(PM_TIMER_HZ & 0xffffff);
    io.out8(0xb2, 0xf1);
    expect(io.in16(0xb004) & 1).toBe(1);
    io.out16(0xb002, 0x0100); // PWRBTN_EN
    pm.powerButton();
    expect(sci.level).toBe(true);
    expect(io.in16(0xb000) & 0x0100).toBe(0x0100);
    io.out16(0xb000, 0x0100);
    expect(sci.level).toBe(false);
    io.out16(0xb004, 0x2001); // SLP_TYP 0 + SLP_EN
    expect(off).toBe(1);
    const other = new AcpiPm(new IoBus(), t.clock, new LineRecorder(), () => {});
    expectRoundTrip([pm], [other]);
  });

  it('fw_cfg: signature, file directory and DMA reads', () => {
    const memory = new PhysicalMemory(2 << 20);
    const fw = new FwCfg(memory);
    fw.setupPc({ ramBytes: 64 << 20, cpus: 1, bootOrder: 'c', vgaRom: null });
    fw.ports.write16!(0, 0);
    expect(String.fromCharCode(...[0, 1, 2, 3].map(() => fw.ports.read8!(1)))).toBe('QEMU');
    fw.ports.write16!(0, 0x19);
    const count = [0, 1, 2, 3].map(() => fw.ports.read8!(1));
    expect((count[0] << 24) | (count[3])).toBe(3);
    // DMA: select FW_CFG_RAM_SIZE (3), read 8 bytes to 0x2000.
    const dv = new DataView(memory.mem.buffer);
    dv.setUint32(0x1000, (3 << 16) | 0x08 | 0x02, false);
    dv.setUint32(0x1004, 8, false);
    dv.setUint32(0x1008, 0, false);
    dv.setUint32(0x100c, 0x2000, false);
    fw.dmaPorts.write32!(0, 0);
    fw.dmaPorts.write32!(4, 0x00100000); // big-endian 0x1000
    expect(dv.getUint32(0x1000, false)).toBe(0);
    expect(dv.getUint32(0x2000, true)).toBe(64 << 20);
    // Arch-local key 0x8000 (ACPI tables) does not alias key 0.
    fw.ports.write16!(0, 0x8000);
    expect(fw.ports.read8!(1)).toBe(0);
  });
});
