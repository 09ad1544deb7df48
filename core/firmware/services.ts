// The TypeScript side of the Perseus BIOS: attachBuiltinFirmware(machine) registers the trap
// port; each OUT from a ROM stub (rom.ts) runs one service here with the CPU stopped at the
// instruction after the OUT.

import type { PcMachine } from '../board/pc.js';
import { AH, AL, AX, BX, CS, CX, DI, DL, DX, ES, IF, SI, SP, SS, FirmwareContext } from './context.js';
import { ApmBios } from './apm.js';
import { BootMenu } from './boot-menu.js';
import { bootMenuWaitMs } from './fwcfg-read.js';
import { CD_DRIVE, DiskBios, readElTorito, type CdBootEntry } from './disk.js';
import { KeyboardBios } from './keyboard.js';
import { BIOS_SEGMENT, ENTRY, SERVICES_32, TRAP_PORT, buildBiosRom, type ServiceName } from './rom.js';
import { LinuxBootError, planLinuxBoot, type LinuxBootFiles } from './linux-boot.js';
import { MouseBios } from './mouse.js';
import { PciBios, setupPci } from './pcibios.js';
import { SystemBios } from './system-services.js';
import { installTables, tablesE820, type InstalledTables } from './tables.js';
import { VideoBios } from './video.js';

const EBDA_SEGMENT = 0x9fc0;
const SMAP = 0x534d4150;

export class BuiltinFirmware {
  readonly fw: FirmwareContext;
  readonly video: VideoBios;
  readonly disk: DiskBios;
  readonly keyboard: KeyboardBios;
  readonly mouse: MouseBios;
  readonly pciBios: PciBios;
  readonly system: SystemBios;
  /** APM 1.2 (INT 15h AH=53h and its protected-mode entries). */
  readonly apm: ApmBios;
  /** Esc/F12 during POST; `bootMenu.promptMs` shows a "Press F12" prompt that long. */
  readonly bootMenu: BootMenu;
  /** Tables POST installed (null when RAM is too small for them). */
  tables: InstalledTables | null = null;
  /** Direct Linux boot instead of INT 19h (setDirectLinuxBoot). */
  private linux: LinuxBootFiles | null = null;
  private readonly traps: Map<number, ServiceName>;
  /** Messages the firmware printed (boot failures), for logs and tests. */
  readonly messages: string[] = [];
  /** Host time (performance.now()-like ms) of the jump to a boot sector; set by the caller's clock. */
  bootedAt: number | null = null;

  constructor(readonly machine: PcMachine) {
    this.fw = new FirmwareContext(machine);
    this.video = new VideoBios(this.fw);
    this.disk = new DiskBios(this.fw);
    this.keyboard = new KeyboardBios(this.fw);
    this.mouse = new MouseBios(this.fw);
    this.pciBios = new PciBios(this.fw, machine);
    this.system = new SystemBios(this.fw);
    this.apm = new ApmBios(this.fw);
    this.bootMenu = new BootMenu({
      fw: this.fw,
      print: (t) => this.video.print(t),
      devices: () => [
        ...(this.disk.drive(0x00) ? ['a'] : []), ...(this.disk.drive(0x80) ? ['c'] : []), ...(this.disk.cdroms().length ? ['d'] : []),
      ],
      bootDevice: (d) => this.bootDevice(d),
      bootDefault: () => this.boot(),
      enterStub: () => this.fw.jumpReal(BIOS_SEGMENT, ENTRY.bootMenu),
      scancode: (sc) => this.keyboard.scancode(sc),
    });
    this.traps = buildBiosRom().traps;
    machine.io.register('firmware-trap', TRAP_PORT, 1, { write8: () => this.trap() });
  }

  /** Boot this kernel after POST (the Linux boot protocol) instead of a boot sector. */
  setDirectLinuxBoot(files: LinuxBootFiles | null): void {
    // Checked now so a bad file is reported before the machine runs.
    if (files) planLinuxBoot(files, this.machine.memory.ramSize);
    this.linux = files;
  }

  /** The service of the stub that trapped: real/V86 stubs by F000:IP, 32-bit ones by physical address. */
  private serviceAt(): ServiceName | undefined {
    const cpu = this.machine.cpu;
    if ((cpu.segBase[CS] >>> 0) === BIOS_SEGMENT << 4) {
      const s = this.traps.get(cpu.eip & 0xffff);
      if (s && !SERVICES_32.includes(s)) return s;
    }
    // Protected-mode entries with another CS base: 32-bit ones, and APM's 16-bit one.
    if (!cpu.code32 && (cpu.cr0 & 1) === 0) return undefined;
    let phys: number;
    try {
      phys = cpu.translateRead((cpu.segBase[CS] + cpu.eip) | 0, 1 /* supervisor read */) >>> 0;
    } catch {
      return undefined;
    }
    if (phys < BIOS_SEGMENT << 4 || phys >= 0x100000) return undefined;
    const s = this.traps.get(phys & 0xffff);
    if (!s) return undefined;
    return (cpu.code32 ? SERVICES_32.includes(s) : s === 'apm16') ? s : undefined;
  }

  private trap(): void {
    const service = this.serviceAt();
    if (!service) return;
    this.fw.setRetry(false);
    switch (service) {
      case 'post': return this.post();
      case 'postNext': return this.postNext();
      case 'int08': return this.timerTick();
      case 'int09': return this.keyboard.irq();
      case 'int10': return this.video.handle();
      case 'int11': this.fw.set16(AX, this.fw.bda16(0x10)); return;
      case 'int12': this.fw.set16(AX, this.fw.bda16(0x13)); return;
      case 'int13': return this.disk.handle();
      case 'int14': return this.system.int14();
      case 'int15': return this.int15();
      case 'int16': return this.keyboard.handle();
      case 'int17': return this.system.int17();
      case 'int18': this.say('No bootable device.'); return;
      case 'int19': return this.boot();
      case 'bootMenu': return this.bootMenu.step();
      case 'int1a': return this.int1a();
      case 'int74': return this.mouse.irq();
      case 'bios32': return this.pciBios.bios32Directory();
      case 'pci32': return this.pciBios.entry32();
      case 'apm16': return this.apm.handle('pm16');
      case 'apm32': return this.apm.handle('pm32');
    }
  }

  private say(msg: string): void {
    this.messages.push(msg);
    this.machine.config.log(`firmware: ${msg}`);
    this.video.print(`${msg}\r\n`);
  }

  // ------------------------------------------------------------------ POST

  private post(): void {
    const m = this.machine, fw = this.fw, mem = m.memory;
    // A warm reset ends any El Torito emulation of the previous boot.
    this.disk.forgetEmulation();
    // IVT: everything to IRET, hardware IRQs to EOI stubs, then the services.
    const vec = (n: number, off: number, seg = BIOS_SEGMENT) => { mem.write16(n * 4, off); mem.write16(n * 4 + 2, seg); };
    for (let n = 0; n < 256; n++) vec(n, ENTRY.iret);
    for (let n = 0x08; n < 0x10; n++) vec(n, ENTRY.eoiMaster);
    for (let n = 0x70; n < 0x78; n++) vec(n, ENTRY.eoiSlave);
    vec(0x02, ENTRY.nmi); vec(0x08, ENTRY.int08); vec(0x09, ENTRY.int09);
    vec(0x10, ENTRY.int10); vec(0x11, ENTRY.int11); vec(0x12, ENTRY.int12); vec(0x13, ENTRY.int13);
    vec(0x14, ENTRY.int14); vec(0x15, ENTRY.int15); vec(0x16, ENTRY.int16); vec(0x17, ENTRY.int17);
    vec(0x18, ENTRY.int18); vec(0x19, ENTRY.int19); vec(0x1a, ENTRY.int1a); vec(0x1c, ENTRY.iret);
    vec(0x74, ENTRY.int74); vec(0x0e, ENTRY.int0e); vec(0x76, ENTRY.int76); vec(0x77, ENTRY.int77);
    vec(0x1d, ENTRY.videoParams); vec(0x1e, ENTRY.diskParams); vec(0x1f, 0, 0); vec(0x40, ENTRY.int13);
    vec(0x41, 0, 0); vec(0x43, 0, 0); vec(0x46, 0, 0);
    for (let n = 0x60; n < 0x68; n++) vec(n, 0, 0);
    // BIOS data area and EBDA.
    for (let a = 0x400; a < 0x500; a++) mem.write8(a, 0);
    for (let a = EBDA_SEGMENT << 4; a < 0xa0000; a++) mem.write8(a, 0);
    mem.write8(EBDA_SEGMENT << 4, 1);
    [0x3f8, 0x2f8, 0x3e8, 0x2e8].forEach((p, i) => fw.setBda16(i * 2, p));
    const floppies = this.disk.floppies().length;
    fw.setBda16(0x10, (floppies ? 1 | ((floppies - 1) << 6) : 0) | 0x02 | 0x20 | (4 << 9));
    fw.setBda16(0x13, EBDA_SEGMENT >> 6);
    fw.setBda16(0x0e, EBDA_SEGMENT);
    fw.setBda16(0x1a, 0x1e); fw.setBda16(0x1c, 0x1e); fw.setBda16(0x80, 0x1e); fw.setBda16(0x82, 0x3e);
    fw.setBda8(0x75, this.disk.fixedDriveCount());
    fw.setBda8(0x96, 0x10); // 101/102-key keyboard
    this.setTicksFromRtc();
    // PIC: ICW1-4, vectors 08h/70h, IRQ 0, 1, 2, 6, 14, 15 unmasked.
    const io = m.io;
    io.out8(0x20, 0x11); io.out8(0x21, 0x08); io.out8(0x21, 0x04); io.out8(0x21, 0x01);
    io.out8(0xa0, 0x11); io.out8(0xa1, 0x70); io.out8(0xa1, 0x02); io.out8(0xa1, 0x01);
    // IRQ 12 (mouse) unmasked too; the 8042 gates it.
    io.out8(0x21, 0xb8); io.out8(0xa1, 0x2f);
    this.mouse.reset();
    setupPci(m);
    this.tables = installTables(m);
    // PIT channel 0: mode 3, divisor 65536 (18.2 Hz).
    io.out8(0x43, 0x36); io.out8(0x40, 0); io.out8(0x40, 0);
    // 8042: translate to set 1, keyboard IRQ on, mouse off; keyboard scanning on.
    io.out8(0x64, 0x60); io.out8(0x60, 0x61);
    io.out8(0x60, 0xf4);
    this.video.post();
    this.video.print(`Perseus BIOS  ${m.config.memoryMiB} MiB RAM\r\n`);
    fw.cpu.loadSegmentReal(SS, 0);
    fw.set16(SP, 0x7000);
    this.nextRomScan = 0xc0000;
    this.postNext();
  }

  /** Deadline of a pending INT 15h AH=86h wait (virtual ns). */

  /** Next option-ROM scan address (C0000-EFFFF, 2 KiB steps). */
  private nextRomScan = 0xe0000;

  /** Initialise the next option ROM (far call into it, returning to F000:postNext), or boot. */
  private postNext(): void {
    const mem = this.machine.memory, fw = this.fw;
    while (this.nextRomScan < 0xf0000) {
      const a = this.nextRomScan;
      this.nextRomScan += 0x800;
      if (mem.read8(a) !== 0x55 || mem.read8(a + 1) !== 0xaa) continue;
      const size = mem.read8(a + 2) * 512;
      if (size === 0 || a + size > 0xf0000) continue;
      let sum = 0;
      for (let i = 0; i < size; i++) sum += mem.read8(a + i);
      if (sum & 0xff) { this.machine.config.log(`firmware: option ROM at ${a.toString(16)} has a bad checksum`); continue; }
      this.nextRomScan = a + Math.ceil(size / 0x800) * 0x800;
      this.machine.config.log(`firmware: initialising option ROM at ${a.toString(16)} (${size} bytes)`);
      fw.cpu.push16(BIOS_SEGMENT);
      fw.cpu.push16(ENTRY.postNext);
      fw.jumpReal(a >> 4, 3);
      return;
    }
    if (this.linux || !this.bootMenu.start(bootMenuWaitMs(this.machine.io))) this.boot();
  }

  private setTicksFromRtc(): void {
    const t = this.readRtcTime();
    const secs = t.h * 3600 + t.m * 60 + t.s;
    this.fw.setBda32(0x6c, Math.floor(secs * 1193182 / 65536));
  }

  private rtc(reg: number): number {
    this.machine.io.out8(0x70, reg);
    return this.machine.io.in8(0x71);
  }
  private readRtcTime(): { h: number; m: number; s: number } {
    const bcd = (this.rtc(0x0b) & 0x04) === 0;
    const dec = (v: number) => (bcd ? (v >> 4) * 10 + (v & 15) : v);
    return { h: dec(this.rtc(0x04) & 0x7f), m: dec(this.rtc(0x02)), s: dec(this.rtc(0x00)) };
  }

  // ------------------------------------------------------------------ boot (INT 19h)

  /** Try the boot order; jump to the first boot sector, or say why nothing booted. */
  boot(): void {
    const fw = this.fw;
    if (this.linux) { this.bootLinux(this.linux); return; }
    const order = (this.machine.config.bootOrder || 'cad').toLowerCase();
    for (const ch of order) if (this.bootDevice(ch)) return;
    this.say('No bootable device.');
    fw.jumpReal(BIOS_SEGMENT, ENTRY.haltLoop);
  }

  /** Boot one device by its boot-order letter (a, c, d); false when it did not boot. */
  private bootDevice(ch: string): boolean {
    let dl: number, what: string;
    if (ch === 'a') { dl = 0x00; what = 'floppy'; }
    else if (ch === 'c') { dl = 0x80; what = 'disk'; }
    else if (ch === 'd') return this.bootCd();
    else return false;
    if (!this.disk.drive(dl)) return false;
    this.video.print(`Booting from ${what === 'floppy' ? 'floppy' : 'hard disk'}...\r\n`);
    if (!this.disk.readBootSector(dl, 0x7c00)) { this.say(`Cannot read the boot sector: not a bootable ${what}.`); return false; }
    if (this.machine.memory.read16(0x7dfe) !== 0xaa55) { this.say(`This is not a bootable ${what} (no boot signature).`); return false; }
    this.enterBootCode(0, 0x7c00, dl);
    return true;
  }

  /** Load the kernel, initrd and command line and enter the real-mode setup code. */
  private bootLinux(files: LinuxBootFiles): void {
    const m = this.machine;
    let plan;
    try {
      // Below the ACPI tables (they start at the lowest E820 entry POST added).
      plan = planLinuxBoot(files, Math.min(m.memory.ramSize, ...tablesE820(m.memory.ramSize).map((e) => e[0])));
    } catch (e) {
      if (!(e instanceof LinuxBootError)) throw e;
      this.say(`Cannot boot the kernel: ${e.message}`);
      this.fw.jumpReal(BIOS_SEGMENT, ENTRY.haltLoop);
      return;
    }
    this.video.print('Booting the Linux kernel...\r\n');
    for (const w of plan.writes) m.memory.writeBytes(w.address, w.bytes);
    const cpu = this.fw.cpu;
    for (const s of [ES, 3 /* DS */, SS, 4 /* FS */, 5 /* GS */]) cpu.loadSegmentReal(s, plan.segment);
    this.fw.set16(SP, plan.stackPointer);
    cpu.materializeFlags();
    cpu.flags &= ~IF;
    this.fw.jumpReal(plan.segment + 0x20, 0);
  }

  /** Start the register state of a boot sector at seg:off with DL = drive. */
  private enterBootCode(seg: number, off: number, dl: number): void {
    const fw = this.fw;
    for (const s of [ES, 3 /* DS */, SS]) fw.cpu.loadSegmentReal(s, 0);
    fw.set16(SP, 0x7c00);
    fw.set16(DX, dl);
    fw.cpu.materializeFlags();
    fw.cpu.flags |= IF;
    fw.jumpReal(seg, off);
  }

  /**
   * El Torito boot from the first CD with a disc; false when none booted. Floppy emulation
   * maps drive 00h onto the image; no emulation loads the boot image and answers drive E0h;
   * hard-disk emulation makes the image (an MBR-partitioned disk) drive 80h, read-only, with
   * the geometry of its partition table, the IDE disks one up. The image's first `sectors`
   * virtual sectors go to the load segment (07C0h: entered at 0:7C00).
   */
  private bootCd(): boolean {
    for (const cd of this.disk.cdroms()) {
      this.video.print('Booting from CD-ROM...\r\n');
      let entry: CdBootEntry | string;
      try {
        entry = readElTorito(cd);
        if (typeof entry !== 'string') entry = this.disk.startCdBoot(cd, entry) ?? entry;
      } catch (e) {
        entry = `cannot read the disc (${(e as Error).message})`;
      }
      if (typeof entry === 'string') { this.say(`This is not a bootable CD (${entry}).`); continue; }
      const mem = this.machine.memory;
      if (entry.media >= 1 && entry.media <= 3) {
        this.fw.setBda16(0x10, this.fw.bda16(0x10) | 1);
        if (!this.disk.readBootSector(0, 0x7c00)) {
          this.disk.endEmulation();
          this.say('This is not a bootable CD (cannot read the floppy image).');
          continue;
        }
        this.enterBootCode(0, 0x7c00, 0);
        return true;
      }
      const dev = entry.media === 0 ? cd : this.disk.emulatedDisk!.dev;
      const buf = new Uint8Array(Math.max(1, entry.sectors) * 512);
      dev.read(entry.media === 0 ? entry.rba * 2048 : 0, buf);
      mem.writeBytes(entry.loadSegment << 4, buf);
      if (entry.media === 0) { this.enterBootCode(entry.loadSegment, 0, CD_DRIVE); return true; }
      this.fw.setBda8(0x75, this.disk.fixedDriveCount());
      if (entry.loadSegment === 0x07c0) this.enterBootCode(0, 0x7c00, 0x80);
      else this.enterBootCode(entry.loadSegment, 0, 0x80);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ timer, INT 1Ah

  private timerTick(): void {
    const fw = this.fw;
    let t = fw.bda32(0x6c) + 1;
    if (t >= 0x1800b0) { t = 0; fw.setBda8(0x70, 1); }
    fw.setBda32(0x6c, t);
    this.system.tick();
    this.machine.io.out8(0x20, 0x20);
  }

  private int1a(): void {
    const fw = this.fw;
    switch (fw.r8(AH)) {
      case 0xb1: return this.pciBios.int1a();
      case 0x03: case 0x05: return this.system.rtcSet(fw.r8(AH));
      case 0x00: {
        const t = fw.bda32(0x6c);
        fw.set16(CX, t >>> 16); fw.set16(DX, t & 0xffff);
        fw.set8(AL, fw.bda8(0x70)); fw.setBda8(0x70, 0);
        return;
      }
      case 0x01: fw.setBda32(0x6c, (fw.r16(CX) << 16) | fw.r16(DX)); fw.setBda8(0x70, 0); return;
      case 0x02:
        fw.set16(CX, (this.rtc(0x04) << 8) | this.rtc(0x02));
        fw.set16(DX, this.rtc(0x00) << 8);
        fw.result(true);
        return;
      case 0x04:
        fw.set16(CX, (this.rtc(0x32) << 8) | this.rtc(0x09));
        fw.set16(DX, (this.rtc(0x08) << 8) | this.rtc(0x07));
        fw.result(true);
        return;
      default:
        fw.result(false, 0x86);
    }
  }

  // ------------------------------------------------------------------ INT 15h

  private e820Map(): [number, number, number][] {
    const ram = this.machine.memory.ramSize;
    const map: [number, number, number][] = [
      [0, EBDA_SEGMENT << 4, 1],
      [EBDA_SEGMENT << 4, 0xa0000 - (EBDA_SEGMENT << 4), 2],
      [0xf0000, 0x10000, 2],
    ];
    const tables = tablesE820(ram);
    const usableTop = tables.length ? Math.min(...tables.map((t) => t[0])) : ram;
    if (ram > 0x100000) map.push([0x100000, usableTop - 0x100000, 1]);
    map.push(...tables);
    map.push([0xfffc0000, 0x40000, 2]);
    return map;
  }

  private int15(): void {
    const fw = this.fw, m = this.machine;
    const ax = fw.r16(AX);
    const ah = ax >> 8;
    const extKb = Math.max(0, (m.memory.ramSize - 0x100000) / 1024);
    if (ax === 0xe820 && fw.r32(DX) === SMAP) {
      const map = this.e820Map();
      const i = fw.r32(BX);
      if (i >= map.length || fw.r32(CX) < 20) { fw.result(false, 0x86); return; }
      const [base, len, type] = map[i];
      const p = fw.lin(ES, fw.r16(DI));
      fw.write32(p, base); fw.write32(p + 4, 0); fw.write32(p + 8, len); fw.write32(p + 12, 0); fw.write32(p + 16, type);
      fw.set32(AX, SMAP); fw.set32(CX, 20); fw.set32(BX, i + 1 < map.length ? i + 1 : 0);
      fw.setCallerFlag(1, false);
      return;
    }
    if (ax === 0xe801) {
      const below16 = Math.min(extKb, 0x3c00);
      const above16 = Math.max(0, Math.floor((m.memory.ramSize - 0x1000000) / 65536));
      fw.set16(AX, below16); fw.set16(CX, below16); fw.set16(BX, above16); fw.set16(DX, above16);
      fw.setCallerFlag(1, false);
      return;
    }
    switch (ah) {
      case 0x24: {
        const al = fw.r8(AL);
        if (al === 0 || al === 1) { m.memory.setA20(al === 1); fw.result(true); }
        else if (al === 2) { fw.set8(AL, m.memory.a20Enabled ? 1 : 0); fw.result(true); }
        else if (al === 3) { fw.set16(BX, 3); fw.result(true); }
        else fw.result(false, 0x86);
        return;
      }
      case 0x4f: fw.setCallerFlag(1, true); return;
      case 0x83: return this.system.eventWait();
      case 0x89: return this.system.switchToProtectedMode();
      case 0xc2: return this.mouse.handle();
      case 0x53: return this.apm.handle('int15');
      case 0x86: {
        // Wait CX:DX microseconds of virtual time, halting between interrupts. The deadline
        // lives in the BDA (wait count at 40:9C, active flag 40:A0 bit 0, as IBM's BIOS keeps
        // them) so a machine saved mid-wait resumes it: microseconds modulo 2^32, compared as
        // a signed difference.
        const nowUs = Math.floor(m.clock.now() / 1000) >>> 0;
        if ((fw.bda8(0xa0) & 1) === 0) {
          fw.setBda32(0x9c, nowUs + ((fw.r16(CX) << 16) | fw.r16(DX)));
          fw.setBda8(0xa0, fw.bda8(0xa0) | 1);
        }
        if (((fw.bda32(0x9c) - nowUs) | 0) > 0) { fw.setRetry(true); return; }
        fw.setBda8(0xa0, fw.bda8(0xa0) & ~1);
        fw.result(true);
        return;
      }
      case 0x87: {
        // Block move: ES:SI → GDT, descriptor 2 source, 3 destination; CX words.
        const g = fw.lin(ES, fw.r16(SI));
        const base = (o: number) => (fw.read16(g + o + 2) | (fw.read8(g + o + 4) << 16) | (fw.read8(g + o + 7) << 24)) >>> 0;
        const buf = new Uint8Array(fw.r16(CX) * 2);
        m.memory.readBytes(base(0x10), buf);
        m.memory.writeBytes(base(0x18), buf);
        fw.result(true);
        return;
      }
      case 0x88: fw.set16(AX, Math.min(extKb, 0xfc00)); fw.setCallerFlag(1, false); return;
      case 0x90: case 0x91: fw.result(true); return;
      case 0xc0:
        fw.cpu.loadSegmentReal(ES, BIOS_SEGMENT); fw.set16(BX, ENTRY.configTable); fw.result(true);
        return;
      default: fw.result(false, 0x86);
    }
  }
}

/** Install the services of the built-in firmware on a machine built with its ROM. */
export function attachBuiltinFirmware(machine: PcMachine): BuiltinFirmware {
  return new BuiltinFirmware(machine);
}
