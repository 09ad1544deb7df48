// The emulated PC: an i440FX/PIIX3 machine laid out like QEMU's `pc` machine so that SeaBIOS
// (and later our own BIOS) finds everything where it expects it.
//
//   PCI 00.0 host bridge (i440FX, PAM)      PCI 01.0 PIIX3 ISA bridge (PIRQ, ELCR, 0xCF9)
//   PCI 01.1 PIIX3 IDE                      PCI 01.3 PIIX4-style ACPI PM (SCI on IRQ 9)
//   PCI 02.0 std-vga (LFB BAR0)             PCI 03.0 NE2000 (when configured as ne2k-pci)
//   ISA: 8259 pair, 8254 + port 0x61, MC146818 RTC/NVRAM, 8042 + PS/2, 16550A x4, 8237 pair,
//        port 0x92, debug console 0x402/0xE9, fw_cfg 0x510, floppy (0x3F0)
//   MMIO: BIOS at the top of 4 GiB and its last 128 KiB at 0xE0000 (PAM decides RAM vs ROM for
//        0xC0000-0xFFFFF), local APIC 0xFEE00000, I/O APIC 0xFEC00000.
//
// Time: the VirtualClock derives time from executed instructions; run(n) executes the CPU in
// slices that end at the next timer deadline, fires due timers, and skips idle time while the
// guest halts (bounded by the host clock in interactive runs, immediately in deterministic runs).

import type { InputEvent } from '../api/contract.js';
import { IoBus } from '../bus/io.js';
import { IsaIrqs } from '../bus/irq.js';
import { PAGE_SIZE, PhysicalMemory } from '../bus/memory.js';
import { PciBus, PciFunction, PciHostState, pciConfigPorts } from '../bus/pci.js';
import { Cpu } from '../cpu/cpu.js';
import { Fpu } from '../cpu/fpu.js';
import { modelHasMmx } from '../cpu/system/cpuid.js';
import type { InterruptSource } from '../cpu/interfaces.js';
import type { BlockDevice } from '../disk/block.js';
import { AcpiPm } from '../devices/acpi-pm.js';
import { DebugConsole } from '../devices/debugcon.js';
import { Dma8237 } from '../devices/dma8237.js';
import { Fdc } from '../devices/fdc.js';
import { FwCfg } from '../devices/fwcfg.js';
import { Ne2000, Ne2000Pci } from '../devices/ne2000.js';
import { Rtl8139Pci } from '../devices/rtl8139.js';
import { I440fx } from '../devices/i440fx.js';
import { I8042 } from '../devices/i8042.js';
import { Piix3Ide } from '../devices/ide-pci.js';
import { DualPic } from '../devices/pic.js';
import { Piix3 } from '../devices/piix3.js';
import { Pit } from '../devices/pit.js';
import { Port92 } from '../devices/port92.js';
import { Rtc } from '../devices/rtc.js';
import { Uart } from '../devices/uart.js';
import { BACKDOOR_PORT, VmwareBackdoor } from '../devices/vmware-backdoor.js';
import { VgaDevice } from '../devices/vga.js';
import { LocalApic } from '../devices/apic.js';
import { IoApic } from '../devices/ioapic.js';
import { applyState, decodeState, encodeState } from '../state/snapshot.js';
import { StateError, type Stateful, type VMStateDecl } from '../state/vmstate.js';
import { NS_PER_SEC, VirtualClock, type Timer } from '../timing/clock.js';
import type { DirtyRect, IdeAttachment, Machine, MachineConfig, NetworkBackend, RunStop, ScreenInfo } from './machine.js';

const MiB = 1024 * 1024;
/** Longest CPU slice between device/timer checks (also bounds stale in-slice time). */
const SLICE_MAX = 8192;
/** Interactive runs: how far the virtual clock may lag the host before it is pulled forward. */
const MAX_LAG_NS = 50_000_000;
const VRAM_BYTES = 16 * MiB;
const COM_PORTS: [number, number][] = [[0x3f8, 4], [0x2f8, 3], [0x3e8, 4], [0x2e8, 3]];

/** Why the machine is not in a normal running state (for logs). */
export type ResetCause = 'cf9' | 'kbc' | 'port92' | 'triple-fault' | 'host';

/** RAM as a snapshot section (the whole array, copied on save). */
class RamState implements Stateful {
  readonly vmstate: VMStateDecl;
  constructor(private readonly memory: PhysicalMemory) {
    this.vmstate = { name: 'ram', version: 1, fields: [{ name: 'data', type: 'u8[]', length: memory.ramSize }] };
  }
  get data(): Uint8Array {
    return this.memory.mem.subarray(0, this.memory.ramSize);
  }
  set data(v: Uint8Array) {
    this.memory.mem.set(v.subarray(0, this.memory.ramSize));
  }
}

/** Board-level state: A20, pending reset/power-off. */
class BoardState implements Stateful {
  readonly vmstate: VMStateDecl = {
    name: 'board',
    version: 2,
    fields: [
      { name: 'a20', type: 'bool' }, { name: 'poweredOff', type: 'bool' },
      // v2: the VMware backdoor's absolute pointer (mode, unread queue words).
      { name: 'vmmouseMode', type: 'u8' }, { name: 'vmmouseQueue', type: 'u32[]' },
    ],
    migrate: {
      1: (f) => { f.set('vmmouseMode', 0); f.set('vmmouseQueue', new Uint32Array(0)); },
    },
  };
  constructor(private readonly m: PcMachine) {}
  get a20(): boolean {
    return this.m.memory.a20Enabled;
  }
  set a20(v: boolean) {
    this.m.memory.setA20(v);
  }
  get poweredOff(): boolean {
    return this.m.poweredOff;
  }
  set poweredOff(v: boolean) {
    this.m.setPoweredOff(v);
  }
  get vmmouseMode(): number {
    return this.m.vmwareBackdoor.mode;
  }
  set vmmouseMode(v: number) {
    this.m.vmwareBackdoor.mode = v;
  }
  get vmmouseQueue(): Uint32Array {
    return this.m.vmwareBackdoor.queueWords;
  }
  set vmmouseQueue(v: Uint32Array) {
    this.m.vmwareBackdoor.queueWords = v;
  }
}

export class PcMachine implements Machine {
  readonly memory: PhysicalMemory;
  readonly io = new IoBus();
  readonly cpu: Cpu;
  readonly fpu: Fpu;
  readonly clock: VirtualClock;
  readonly irqs = new IsaIrqs();
  readonly pic = new DualPic();
  readonly pit: Pit;
  readonly rtc: Rtc;
  readonly uarts: Uart[] = [];
  readonly dma: Dma8237;
  readonly pci = new PciBus();
  readonly hostBridge: I440fx;
  readonly piix3: Piix3;
  readonly acpi: AcpiPm;
  readonly port92: Port92;
  readonly debugcon: DebugConsole;
  readonly kbc: I8042;
  /** VMware backdoor port 0x5658: the absolute pointer (vmmouse) for guests with a driver for it. */
  readonly vmwareBackdoor: VmwareBackdoor;
  readonly fwcfg: FwCfg;
  readonly lapic: LocalApic;
  readonly ioapic: IoApic;
  readonly vga: VgaDevice;
  readonly ide: Piix3Ide;
  readonly fdc: Fdc;
  /** The NE2000 core (ISA card, or the one inside the PCI function), null without a NIC. */
  readonly nic: Ne2000 | null = null;
  private readonly nicPci: Ne2000Pci | null = null;
  readonly rtl8139: Rtl8139Pci | null = null;

  /** Backing-store offset of the 256 KiB "PCI side" of 0xC0000-0xFFFFF (option ROMs, BIOS). */
  private readonly lowRomOffset: number;
  private readonly parts: Stateful[];
  private readonly fingerprint: string;
  private resetPending: ResetCause | null = null;
  private nicPollTimer: Timer | null = null;
  private poweredOffFlag = false;
  /** Interactive pacing: host ms and virtual ns at the last anchor. */
  private hostAnchorMs = 0;
  private virtualAnchorNs = 0;
  /** How long the host should wait before the next run() after 'halted' (interactive). */
  private idleWaitNs = 0;
  /** Observers of COM1 output (for --until); the UART backend gets the bytes too. */
  serialListeners: ((byte: number) => void)[] = [];

  constructor(readonly config: MachineConfig) {
    const ramBytes = Math.floor(config.memoryMiB) * MiB;
    if (!(config.memoryMiB >= 1 && config.memoryMiB <= 2048)) throw new Error(`memory must be 1-2048 MiB, got ${config.memoryMiB}`);
    const bios = config.biosRom;
    if (bios.length < 0x10000 || bios.length > 16 * MiB || bios.length % PAGE_SIZE) {
      throw new Error(`BIOS image must be 64 KiB-16 MiB and a multiple of 4 KiB (got ${bios.length} bytes)`);
    }
    if (config.vgaRom && config.vgaRom.length > 0x20000) throw new Error('VGA ROM larger than 128 KiB');
    this.memory = new PhysicalMemory(ramBytes, bios.length + 0x40000 + 0x20000 + VRAM_BYTES);
    const m = this.memory;

    // BIOS at the top of 4 GiB, and the PCI side of 0xC0000-0xFFFFF.
    const biosOffset = m.allocate(bios.length);
    m.mem.set(bios, biosOffset);
    m.mapBacking((0x100000000 - bios.length) >>> 0, bios.length, biosOffset, false);
    this.lowRomOffset = m.allocate(0x40000);
    const tail = bios.subarray(Math.max(0, bios.length - 0x20000));
    m.mem.set(tail, this.lowRomOffset + 0x40000 - tail.length);
    if (config.vgaRom) m.mem.set(config.vgaRom, this.lowRomOffset);

    this.cpu = new Cpu(m, this.io);
    const cpu = this.cpu;
    cpu.jitEnabled = config.jit !== false;
    this.fpu = new Fpu(cpu, {
      raiseMathFault: () => cpu.fault(16),
      ferr: (asserted) => this.irqs.setSource(13, 1 << 31, asserted),
      cr0NE: () => (cpu.cr0 & 0x20) !== 0,
      getEflags: () => cpu.getEflags(),
      setFcomiFlags: (zpc) => cpu.setArithFlags(zpc & 0x45),
      writeAX: (v) => { cpu.reg16[0] = v; },
      undefinedOpcode: () => cpu.fault(6),
    });
    cpu.fpu = this.fpu;
    // Platform facts the CPU's CPUID/MSR code reads (core/cpu/system/msr.ts): the model, and a
    // local APIC on P6-class models (CPUID.1:EDX.APIC), as on the real parts. MMX (executed
    // by core/cpu/mmx.ts, CPUID.1:EDX.MMX) comes with the model: the Pentium II has it.
    const facts = cpu as unknown as { model: string; hasApic: boolean; apicId: number };
    facts.model = config.cpuModel;
    cpu.hasMmx = modelHasMmx(config.cpuModel);
    facts.hasApic = config.cpuModel === 'pentium2' || config.cpuModel === 'pentium-pro';
    facts.apicId = 0;
    this.clock = new VirtualClock(() => this.cpu.instructionCount);
    this.irqs.addSink(this.pic);

    // Interrupt controllers
    this.ioapic = new IoApic();
    this.irqs.addSink(this.ioapic);
    this.lapic = new LocalApic(this.clock, this.pic);
    this.ioapic.deliver = (vector, level) => this.lapic.acceptFromIoApic(vector, level);
    this.lapic.onEoi = (vector) => this.ioapic.eoi(vector);
    m.mapMmio('ioapic', 0xfec00000, PAGE_SIZE, this.ioapic);
    this.lapic.memory = m;
    this.lapic.mapAt(0xfee00000);
    this.io.register('pic-master', 0x20, 2, this.pic.master);
    this.io.register('pic-slave', 0xa0, 2, this.pic.slave);
    const intr: InterruptSource = {
      hasInterrupt: () => this.resetPending === null && !this.poweredOffFlag && this.lapic.hasInterrupt(),
      acknowledge: () => this.lapic.acknowledge(),
    };
    this.cpu.intr = intr;
    this.cpu.hooks = {
      shutdown: () => this.requestReset('triple-fault'),
      ferr: (asserted) => this.irqs.setSource(13, 1 << 31, asserted),
      apicBaseChanged: (value) => this.lapic.setBaseMsr(value),
      // One tick per nominal instruction time, idle skips included.
      tscTicks: () => Math.floor(this.clock.now() / this.clock.nsPerInstruction),
    };

    // ISA devices
    this.pit = new Pit(this.clock, this.irqs.line(0));
    this.io.register('pit', 0x40, 4, this.pit);
    this.io.register('port61', 0x61, 1, this.pit.port61);
    const wall = config.clock.wallTimeMs();
    this.rtc = new Rtc(this.clock, this.irqs.line(8), wall);
    this.io.register('rtc', 0x70, 2, this.rtc);
    this.dma = new Dma8237(m);
    this.io.register('dma1', 0x00, 16, this.dma.controllerPorts(0));
    this.io.register('dma2', 0xc0, 32, this.dma.controllerPorts(1));
    this.io.register('dma-page', 0x80, 16, this.dma.pagePorts);
    this.port92 = new Port92(m, () => this.requestReset('port92'));
    this.io.register('port92', 0x92, 1, this.port92);
    this.debugcon = new DebugConsole((msg) => config.log(msg));
    this.io.register('debugcon', 0x402, 1, this.debugcon);
    this.io.register('debugcon-e9', 0xe9, 1, this.debugcon);
    for (let i = 0; i < 4; i++) {
      const [base, irq] = COM_PORTS[i];
      const u = new Uart(`uart.com${i + 1}`, this.clock, this.irqs.line(irq), config.serial[i] ?? null);
      if (i === 0) u.onTransmit = (b) => { for (const l of this.serialListeners) l(b); };
      this.io.register(`com${i + 1}`, base, 8, u);
      this.uarts.push(u);
    }
    this.kbc = new I8042(this.irqs.line(1), this.irqs.line(12), m, () => this.requestReset('kbc'), this.clock);
    this.vmwareBackdoor = new VmwareBackdoor(this.cpu.regs);
    this.io.register('vmware-backdoor', BACKDOOR_PORT, 4, this.vmwareBackdoor);
    this.io.register('i8042-data', 0x60, 1, this.kbc.dataPort);
    this.io.register('i8042-cmd', 0x64, 1, this.kbc.commandPort);

    // PCI
    this.hostBridge = new I440fx(m, this.lowRomOffset);
    this.piix3 = new Piix3(this.irqs, this.pic, () => this.requestReset('cf9'));
    const cfg = pciConfigPorts(this.pci, this.piix3.resetControl);
    this.io.register('pci-addr', 0xcf8, 4, cfg.address);
    this.io.register('pci-data', 0xcfc, 4, cfg.data);
    this.io.register('elcr', 0x4d0, 2, this.piix3.elcrPorts);
    this.pci.router = this.piix3;
    this.pci.add(0, 0, this.hostBridge);
    this.pci.add(1, 0, this.piix3);
    this.ide = new Piix3Ide({
      io: this.io,
      memory: m,
      irq14: ((l) => (level: boolean) => l.set(level))(this.irqs.line(14)),
      irq15: ((l) => (level: boolean) => l.set(level))(this.irqs.line(15)),
      drives: config.ide.map((a): IdeAttachment | null => a && { kind: a.kind, device: this.countDisk(a.device) }) as MachineConfig['ide'],
    });
    this.pci.add(1, 1, { readConfig: (o, s) => this.ide.pci.read(o, s as 1 | 2 | 4), writeConfig: (o, v, s) => this.ide.pci.write(o, s as 1 | 2 | 4, v) });
    this.acpi = new AcpiPm(this.io, this.clock, this.irqs.line(9), () => this.setPoweredOff(true));
    this.pci.add(1, 3, this.acpi);
    this.vga = new VgaDevice(m, this.io, { vramBytes: VRAM_BYTES });
    this.vga.attach();
    this.pci.add(2, 0, this.vgaPciFunction());

    // Floppy controller: ISA 0x3F0, IRQ 6, DMA channel 2.
    const irq6 = this.irqs.line(6);
    this.fdc = new Fdc({ irq: (level) => irq6.set(level), dma: this.dma.channel(2), media: [this.countDisk(config.floppy[0]), this.countDisk(config.floppy[1])] });
    this.fdc.registerPorts(this.io);
    this.dma.onUnmask = (ch) => { if (ch === 2) this.fdc.dmaReady(); };

    // Network: NE2000 on PCI 03.0, or ISA 0x300 IRQ 9 (shared with the SCI, as on QEMU's isapc).
    const backend = this.countNet(config.nic.backend);
    if (config.nic.model === 'ne2k-pci') {
      this.nicPci = new Ne2000Pci(this.io, { backend, mac: config.nic.mac });
      this.pci.add(3, 0, this.nicPci);
      this.nic = this.nicPci.nic;
    } else if (config.nic.model === 'ne2k-isa') {
      const irq9 = this.irqs.line(9);
      this.nic = new Ne2000({ irq: (level) => irq9.set(level), backend, mac: config.nic.mac });
      this.io.register('ne2000', 0x300, 0x20, this.nic);
    } else if (config.nic.model === 'rtl8139') {
      this.rtl8139 = new Rtl8139Pci(this.io, this.memory, { backend, mac: config.nic.mac, clockNs: () => this.clock.now() });
      this.pci.add(3, 0, this.rtl8139);
    }
    const nic = this.nic ?? this.rtl8139?.nic ?? null;
    if (nic) {
      const pollTimer = this.clock.createTimer('nic-poll', () => {
        nic.poll();
        pollTimer.setIn(1_000_000);
      });
      pollTimer.setIn(1_000_000);
      this.nicPollTimer = pollTimer;
    }

    // fw_cfg: what SeaBIOS asks QEMU for.
    this.fwcfg = new FwCfg(m);
    this.io.register('fw_cfg', 0x510, 2, this.fwcfg.ports);
    this.io.register('fw_cfg-dma', 0x514, 8, this.fwcfg.dmaPorts);
    this.fwcfg.setupPc({
      ramBytes,
      cpus: 1,
      bootOrder: config.bootOrder,
      bootMenuWaitMs: config.bootMenuWaitMs ?? 0,
      vgaRom: config.vgaRom,
    });

    this.setupNvram(ramBytes);

    this.fingerprint = JSON.stringify({
      machine: 'pc-i440fx',
      memoryMiB: config.memoryMiB,
      cpuModel: config.cpuModel,
      biosBytes: bios.length,
      vram: VRAM_BYTES,
      nic: config.nic.model,
      ide: config.ide.map((a) => a?.kind ?? null),
      floppies: config.floppy.map((f) => f !== null),
      serial: config.serial.length,
    });
    const irqLines: Stateful = {
      vmstate: { name: 'irq-lines', version: 1, fields: [] },
      postLoad: () => {
        this.irqs.clearSilently();
        this.pci.clearIrqState();
      },
    };
    this.parts = [
      irqLines,
      new BoardState(this),
      this.clock,
      this.cpu,
      this.fpu,
      this.pic.master,
      this.pic.slave,
      this.ioapic,
      this.lapic,
      this.pit,
      this.rtc,
      this.dma,
      this.port92,
      this.kbc,
      ...this.uarts,
      new PciHostState(this.pci),
      this.hostBridge,
      this.piix3,
      this.acpi,
      ...this.ide.stateParts(),
      this.fdc,
      ...(this.nicPci ? [this.nicPci, this.nicPci.nic] : this.nic ? [this.nic] : []),
      ...(this.rtl8139 ? this.rtl8139.stateParts() : []),
      this.vga,
      this.fwcfg,
      new RamState(m),
    ];
    this.powerOnReset();
  }

  /** CMOS contents the firmware reads: memory, floppy types, equipment, boot order. */
  private setupNvram(ramBytes: number): void {
    const rtc = this.rtc;
    rtc.setMemorySize(ramBytes);
    const types = this.config.floppy.map((f) => (f ? floppyDriveType(f.size) : 0));
    rtc.setFloppyTypes(types[0], types[1]);
    const floppies = types.filter((t) => t > 0).length;
    rtc.setEquipment((floppies ? 1 | ((floppies - 1) << 6) : 0) | 0x02 /* FPU */);
    // SeaBIOS on QEMU: boot order nibbles in 0x3D (first, second) and 0x38 bits 4-7 (third);
    // 1 floppy, 2 hard disk, 3 CD-ROM. 0x38 bit 0 skips the floppy boot signature check.
    const nib = (ch: string) => (ch === 'a' ? 1 : ch === 'c' ? 2 : ch === 'd' ? 3 : 0);
    const order = (this.config.bootOrder || 'cad').toLowerCase();
    rtc.setByte(0x3d, nib(order[0] ?? '') | (nib(order[1] ?? '') << 4));
    rtc.setByte(0x38, (nib(order[2] ?? '') << 4) | 0);
    rtc.setByte(0x5f, 0); // CPUs - 1
  }

  /** A PciFunction in front of the VGA device: BAR0 LFB, BAR2 MMIO registers. */
  private vgaPciFunction(): PciFunction {
    const p = this.vga.pciConfig;
    const f = new PciFunction('pci.vga', {
      vendor: p.vendorId, device: p.deviceId, classCode: p.classCode, revision: p.revision,
      subsystemVendor: p.subsystemVendorId, subsystem: p.subsystemId,
    });
    for (const bar of p.bars) {
      f.setBar(bar.index, {
        size: bar.size,
        kind: 'mem',
        prefetchable: bar.prefetchable,
        map: (base) => (bar.index === 0 ? this.vga.mapLfb(base) : this.vga.mapMmioBar(base)),
      });
    }
    // Expansion ROM BAR with the VGA BIOS: SeaBIOS runs it as the device's PCI option ROM,
    // so the VGA BIOS learns its PCI address (and the LFB BAR) like on QEMU.
    const rom = this.config.vgaRom;
    if (rom) {
      const size = 0x20000;
      let mappedAt = -1;
      const offset = this.memory.allocate(size);
      this.memory.mem.fill(0xff, offset, offset + size);
      this.memory.mem.set(rom.subarray(0, size), offset);
      f.setBar(6, {
        size,
        kind: 'mem',
        map: (base) => {
          if (mappedAt >= 0) this.memory.unmap(mappedAt, size);
          mappedAt = base ?? -1;
          if (base !== null) this.memory.mapBacking(base, size, offset, false);
        },
      });
    }
    return f;
  }

  // ------------------------------------------------------------------ power and reset

  private powerOnReset(): void {
    this.resetDevices();
    this.clock.rebase(this.clock.now());
    this.hostAnchorMs = this.config.clock.monotonicMs();
    this.virtualAnchorNs = this.clock.now();
  }

  private resetDevices(): void {
    this.irqs.reset();
    this.pic.reset();
    this.ioapic.reset();
    this.lapic.reset();
    this.pit.reset();
    this.rtc.reset();
    this.dma.reset();
    this.port92.reset();
    this.kbc.reset();
    this.vmwareBackdoor.reset();
    for (const u of this.uarts) u.reset();
    this.pci.reset();
    this.ide.reset();
    this.fdc.reset();
    this.nic?.reset();
    if (this.nicPollTimer && !this.nicPollTimer.armed) this.nicPollTimer.setIn(1_000_000);
    this.vga.reset();
    this.vga.mapLfb(null);
    this.fwcfg.reset();
    this.memory.setA20(true);
    this.cpu.reset();
    this.cpu.halted = false;
  }

  /** A device asked for a reset; it happens between CPU slices. */
  requestReset(cause: ResetCause): void {
    if (this.resetPending) return;
    this.resetPending = cause;
    this.config.log(`machine reset (${cause})`);
    this.cpu.halted = true; // stop the current slice at the next instruction boundary
  }

  setPoweredOff(off: boolean): void {
    if (off && !this.poweredOffFlag) this.config.log('machine powered off');
    this.poweredOffFlag = off;
    if (off) this.cpu.halted = true;
  }

  get poweredOff(): boolean {
    return this.poweredOffFlag;
  }

  /** Hardware reset (also powers a powered-off machine back on). */
  reset(): void {
    this.resetPending = null;
    this.poweredOffFlag = false;
    this.resetDevices();
  }

  powerButton(): void {
    this.acpi.powerButton();
  }

  // ------------------------------------------------------------------ running

  get instructionCount(): number {
    return this.cpu.instructionCount;
  }

  /** Virtual time in ns since power-on. */
  get timeNs(): number {
    return this.clock.now();
  }

  /** After run() returned 'halted' in an interactive run: milliseconds until there is work. */
  idleWaitMs(): number {
    return this.idleWaitNs / 1e6;
  }

  run(instructions: number): RunStop {
    const clock = this.clock;
    const nsPerInstr = clock.nsPerInstruction;
    const interactive = !this.config.deterministic;
    let budget = instructions;
    this.idleWaitNs = 0;
    if (interactive) this.catchUp();
    while (budget > 0) {
      if (this.poweredOffFlag) return 'poweroff';
      if (this.resetPending) {
        this.reset();
        return 'reset';
      }
      clock.runExpired();
      if (this.cpu.halted && !this.wakeable()) {
        // Idle: skip to the next timer (never past the host clock when interactive).
        const next = clock.nextDeadline();
        if (next < 0) return 'halted';
        const now = clock.now();
        let target = next;
        if (interactive) {
          const host = this.hostNowNs();
          if (host < next) {
            this.idleWaitNs = next - Math.max(host, now);
            if (host > now) clock.advance(host - now);
            return 'halted';
          }
        }
        const skip = Math.max(0, target - now);
        clock.advance(skip);
        budget -= Math.max(1, Math.floor(skip / nsPerInstr));
        continue;
      }
      const slice = clock.instructionsUntilDeadline(Math.min(budget, SLICE_MAX));
      const done = this.cpu.run(slice);
      budget -= done > 0 ? done : 1;
    }
    if (this.poweredOffFlag) return 'poweroff';
    return 'budget';
  }

  /** A halted CPU will resume: an interrupt it would accept is pending. */
  private wakeable(): boolean {
    if (this.resetPending || this.poweredOffFlag) return false;
    const cpu = this.cpu;
    return cpu.nmiPending || ((cpu.getEflags() & 0x200) !== 0 && this.lapic.hasInterrupt());
  }

  private hostNowNs(): number {
    return this.virtualAnchorNs + (this.config.clock.monotonicMs() - this.hostAnchorMs) * 1e6;
  }

  /** Interactive runs: pull the virtual clock forward when it lags the host too much. */
  private catchUp(): void {
    const host = this.hostNowNs();
    const now = this.clock.now();
    if (host - now > MAX_LAG_NS) this.clock.advance(host - now - MAX_LAG_NS);
  }

  // ------------------------------------------------------------------ host I/O

  updateScreen(): DirtyRect[] {
    return this.vga.updateScreen();
  }

  screen(): ScreenInfo {
    return this.vga.screen();
  }

  input(event: InputEvent): void {
    if (event.type === 'mouse-abs') {
      // The vmmouse drivers read the backdoor's queue on a PS/2 mouse interrupt: send one.
      if (this.vmwareBackdoor.pointer(event.x, event.y, event.buttons, event.dz ?? 0)) {
        this.kbc.input({ type: 'mouse', dx: 0, dy: 0, dz: 0, buttons: event.buttons });
      }
      return;
    }
    this.kbc.input(event);
  }

  changeMedia(slot: { floppy: 0 | 1 } | { ide: 0 | 1 | 2 | 3 }, device: BlockDevice | null): void {
    // The config follows the media (the built-in firmware's INT 13h and hosts read it there).
    if ('ide' in slot) {
      this.ide.changeMedia(slot.ide, this.countDisk(device));
      const a = this.config.ide[slot.ide];
      if (a) a.device = device;
      return;
    }
    this.fdc.changeMedia(slot.floppy, this.countDisk(device));
    this.config.floppy[slot.floppy] = device;
  }

  /** LEDs, and whether any disk or network I/O happened since the previous call (the status bar's lights). */
  status() {
    const diskActivity = this.diskOps !== this.diskOpsSeen;
    const netActivity = this.netFrames !== this.netFramesSeen;
    this.diskOpsSeen = this.diskOps;
    this.netFramesSeen = this.netFrames;
    return { leds: this.kbc.leds(), diskActivity, netActivity, absolutePointer: this.vmwareBackdoor.absolute };
  }

  // Activity counters: the controllers and NICs get counting wrappers of the devices in the
  // config (which itself keeps the originals for firmware and hosts).
  private diskOps = 0;
  private diskOpsSeen = 0;
  private netFrames = 0;
  private netFramesSeen = 0;

  private countDisk(dev: BlockDevice | null): BlockDevice | null {
    if (!dev) return null;
    const count = () => { this.diskOps++; };
    return {
      get size() { return dev.size; },
      get readOnly() { return dev.readOnly; },
      read(offset, buf) { count(); dev.read(offset, buf); },
      write(offset, data) { count(); dev.write(offset, data); },
      flush() { dev.flush(); },
    };
  }

  private countNet(backend: NetworkBackend | null): NetworkBackend | null {
    if (!backend) return null;
    const count = () => { this.netFrames++; };
    return {
      send(frame) { count(); backend.send(frame); },
      receive() { const f = backend.receive(); if (f) count(); return f; },
      get linkUp() { return backend.linkUp; },
    };
  }

  // ------------------------------------------------------------------ snapshots

  saveState(meta: Record<string, unknown> = {}): Uint8Array {
    return encodeState(this.parts, { ...meta, fingerprint: this.fingerprint, instructions: this.cpu.instructionCount });
  }

  loadState(file: Uint8Array): void {
    const saved = decodeState(file);
    if (!sameConfiguration(saved.meta.fingerprint, this.fingerprint)) {
      throw new StateError('state was saved from a different machine configuration (memory, CPU, devices or firmware differ)');
    }
    // applyState validates every section before writing anything; the first part's postLoad
    // then clears the interrupt lines so devices re-assert them as they are restored.
    applyState(this.parts, saved);
    this.resetPending = null;
    this.nicPollTimer?.setIn(1_000_000);
    this.hostAnchorMs = this.config.clock.monotonicMs();
    this.virtualAnchorNs = this.clock.now();
  }
}

/**
 * Whether a saved fingerprint fits this machine. Floppy media come and go while a VM runs
 * (the FDC always has both drives; what the firmware saw at boot is in the saved CMOS), so a
 * VM suspended after a floppy was inserted or ejected still resumes.
 */
function sameConfiguration(saved: unknown, current: string): boolean {
  if (saved === current) return true;
  if (typeof saved !== 'string') return false;
  try {
    const a = JSON.parse(saved) as Record<string, unknown>;
    const b = JSON.parse(current) as Record<string, unknown>;
    delete a.floppies;
    delete b.floppies;
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

/** CMOS drive type for a floppy image size (the drive that reads such media). */
export function floppyDriveType(size: number): number {
  const KiB = 1024;
  if (size <= 360 * KiB) return 1; // 5.25" 360K (160K-360K media)
  if (size <= 737_280) return 3; // 3.5" 720K
  if (size <= 1_228_800) return 2; // 5.25" 1.2M
  if (size <= 1_474_560) return 4; // 3.5" 1.44M
  if (size <= 1_720_320) return 4; // DMF 1.68M in a 1.44M drive
  return 5; // 3.5" 2.88M
}

export { NS_PER_SEC };
