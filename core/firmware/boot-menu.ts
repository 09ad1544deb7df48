// The boot menu (Esc or F12 during POST). POST ends by asking `BootMenu.start(waitMs)`, where
// waitMs is the VM's boot-menu prompt time (fw_cfg "etc/boot-menu-wait", the same item SeaBIOS
// reads) or `promptMs` when a host set it. First the 8042's output buffer is drained into the
// BDA keyboard buffer, so an Esc/F12 pressed before or during POST (when nothing took it from
// the controller yet) opens the menu at once. Otherwise, with no prompt configured, it returns
// false and the configured order boots at once (no delay). With a prompt the CPU waits in the
// ROM's menu stub (`sti; out; hlt; jmp`), whose trap runs `step()` after every interrupt:
// INT 09h fills the BDA buffer from the 8042, and the first Esc/F12 there opens the menu. The
// state is in the EBDA (mode at 50h, deadline in microseconds of virtual time at 54h) so a
// machine saved meanwhile resumes the same way.
import type { FirmwareContext } from './context.js';

const EBDA_MODE = 0x50, EBDA_DEADLINE = 0x54;
const MODE_WAIT = 1, MODE_MENU = 2;
const SCAN_ESC = 0x01, SCAN_F12 = 0x86;

export interface BootMenuHost {
  fw: FirmwareContext;
  print(text: string): void;
  /** Boot devices present, as boot-order letters ('a', 'c', 'd'). */
  devices(): string[];
  /** Boot one device; false when it did not boot. */
  bootDevice(order: string): boolean;
  /** The configured boot order (also what Esc in the menu does). */
  bootDefault(): void;
  /** Park the CPU in the menu stub. */
  enterStub(): void;
  /** Translate one set-1 scan code into the BDA keyboard buffer (INT 09h's work). */
  scancode(sc: number): void;
}

const NAMES: Record<string, string> = { a: 'Floppy A:', c: 'Hard disk', d: 'CD-ROM' };

export class BootMenu {
  /** Show "Press F12 for the boot menu" for this long (ms of virtual time); 0 = no prompt. */
  promptMs = 0;
  constructor(private readonly host: BootMenuHost) {}

  private get fw(): FirmwareContext { return this.host.fw; }
  private ebda(o: number): number { return (this.fw.bda16(0x0e) << 4) + o; }
  private get mode(): number { return this.fw.machine.memory.read8(this.ebda(EBDA_MODE)); }
  private set mode(v: number) { this.fw.machine.memory.write8(this.ebda(EBDA_MODE), v); }
  private nowUs(): number { return Math.floor(this.fw.machine.clock.now() / 1000) >>> 0; }

  /**
   * At the end of POST: true when the CPU now waits in the menu stub (the menu is open, or the
   * prompt shows for `waitMs`, or `promptMs` when that is set).
   */
  start(waitMs = 0): boolean {
    const prompt = this.promptMs > 0 ? this.promptMs : Math.max(0, waitMs);
    this.drainController();
    if (this.takeMenuKey()) {
      this.show();
      this.host.enterStub();
      return true;
    }
    if (prompt <= 0) return false;
    this.host.print('Press F12 for the boot menu\r\n');
    this.fw.machine.memory.write32(this.ebda(EBDA_DEADLINE), (this.nowUs() + prompt * 1000) | 0);
    this.mode = MODE_WAIT;
    this.host.enterStub();
    return true;
  }

  /**
   * Keys typed before the end of POST wait in the 8042 (its output buffer was filled while
   * the keyboard interrupt was still off, so no IRQ 1 came): read them through the ports as
   * INT 09h would, mouse bytes dropped.
   */
  private drainController(): void {
    const io = this.fw.machine.io;
    for (let n = 0; n < 64; n++) {
      const status = io.in8(0x64);
      if ((status & 0x01) === 0) return;
      const b = io.in8(0x60);
      if ((status & 0x20) === 0) this.host.scancode(b);
    }
  }

  /** An Esc or F12 in the BDA buffer: it and the keys before it are taken. Others stay. */
  private takeMenuKey(): boolean {
    const fw = this.fw;
    const start = fw.bda16(0x80) || 0x1e, end = fw.bda16(0x82) || 0x3e;
    const tail = fw.bda16(0x1c);
    for (let at = fw.bda16(0x1a); at !== tail; at = at + 2 >= end ? start : at + 2) {
      const scan = fw.bda16(at) >> 8;
      if (scan === SCAN_ESC || scan === SCAN_F12) {
        fw.setBda16(0x1a, at + 2 >= end ? start : at + 2);
        return true;
      }
    }
    return false;
  }

  /** The menu stub's trap. */
  step(): void {
    if (this.mode === MODE_WAIT) {
      for (let w = this.takeKey(); w >= 0; w = this.takeKey()) {
        const scan = w >> 8;
        if (scan === SCAN_ESC || scan === SCAN_F12) { this.show(); return this.step(); }
      }
      const deadline = this.fw.machine.memory.read32(this.ebda(EBDA_DEADLINE));
      if (((deadline - this.nowUs()) | 0) > 0) return;
      this.mode = 0;
      this.host.bootDefault();
      return;
    }
    if (this.mode !== MODE_MENU) { this.host.bootDefault(); return; }
    const devices = this.host.devices();
    for (let w = this.takeKey(); w >= 0; w = this.takeKey()) {
      if (w >> 8 === SCAN_ESC) {
        this.mode = 0;
        this.host.print('\r\n');
        this.host.bootDefault();
        return;
      }
      const n = (w & 0xff) - 0x31;
      if (n >= 0 && n < devices.length) {
        this.mode = 0;
        this.host.print(`${n + 1}\r\n`);
        if (!this.host.bootDevice(devices[n])) this.host.bootDefault();
        return;
      }
    }
  }

  private show(): void {
    this.mode = MODE_MENU;
    const devices = this.host.devices();
    this.host.print('\r\nBoot menu\r\n');
    devices.forEach((d, i) => this.host.print(`  ${i + 1}. ${NAMES[d]}\r\n`));
    this.host.print(`Select 1-${devices.length} (Esc: boot order): `);
  }

  /** Next word from the BDA keyboard buffer, or -1. */
  private takeKey(): number {
    const fw = this.fw;
    const head = fw.bda16(0x1a);
    if (head === fw.bda16(0x1c)) return -1;
    const w = fw.bda16(head);
    const start = fw.bda16(0x80) || 0x1e, end = fw.bda16(0x82) || 0x3e;
    fw.setBda16(0x1a, head + 2 >= end ? start : head + 2);
    return w;
  }
}
