// PIIX4-style power management function (PCI 01.3, 8086:7113) as QEMU's pc machine has it:
// PM1 event block (status/enable), PM1 control (SCI_EN, SLP_TYP, SLP_EN), the 24-bit ACPI PM
// timer at 3.579545 MHz, the power button, the APM control/status ports 0xB2/0xB3 (ACPI
// enable/disable commands), a GPE0 block at 0xAFE0 and the SCI on IRQ 9.
//
// Wiring: bus.add(1, 3, pm); new AcpiPm(io, clock, sciLine, onPowerOff). The PM I/O block
// (64 bytes) is mapped wherever the guest puts it with config register 0x40 (PMBA) once
// 0x80 bit 0 enables it; SeaBIOS uses 0x600. SLP_EN with SLP_TYP 0 (the _S5 value in the
// DSDT SeaBIOS builds) powers the machine off.

import type { IoBus, PortHandler } from '../bus/io.js';
import type { IrqLine } from '../bus/irq.js';
import { get32, PciFunction } from '../bus/pci.js';
import type { Timer, VirtualClock } from '../timing/clock.js';
import { NS_PER_SEC } from '../timing/clock.js';

export const PM_TIMER_HZ = 3_579_545;
const STS_TMR = 0x0001, STS_GBL = 0x0020, STS_PWRBTN = 0x0100, STS_RTC = 0x0400, STS_WAK = 0x8000;
const CNT_SCI_EN = 0x0001, CNT_SLP_EN = 0x2000;
const PM_BLOCK = 64;
const GPE0_BASE = 0xafe0;

export class AcpiPm extends PciFunction {
  pm1Status = 0;
  pm1Enable = 0;
  pm1Control = 0;
  gpeStatus = 0;
  gpeEnable = 0;
  apmControl = 0;
  apmStatus = 0;
  sciLevel = false;
  /** Next PM timer bit-23 toggle (overflow event) when TMR_EN is set, -1 otherwise. */
  nextOverflow = -1;
  private mappedBase = -1;
  private readonly timer: Timer;
  private readonly pmPorts: PortHandler;

  constructor(private readonly io: IoBus, private readonly clock: VirtualClock, private readonly sci: IrqLine, private readonly onPowerOff: () => void) {
    super('pci.acpi-pm', { vendor: 0x8086, device: 0x7113, classCode: 0x068000, revision: 0x03, interruptPin: 1 });
    this.vmstate.fields = [
      ...this.vmstate.fields,
      { name: 'pm1Status', type: 'u16' }, { name: 'pm1Enable', type: 'u16' }, { name: 'pm1Control', type: 'u16' },
      { name: 'gpeStatus', type: 'u16' }, { name: 'gpeEnable', type: 'u16' },
      { name: 'apmControl', type: 'u8' }, { name: 'apmStatus', type: 'u8' }, { name: 'sciLevel', type: 'bool' },
      { name: 'nextOverflow', type: 'f64' },
    ];
    // PMBA (0x40, I/O space indicator bit 0 fixed), PMREGMISC 0x80, DEVACTB 0x58, SMBus 0x90/0xd2.
    this.config[0x40] = 0x01;
    this.writeMask[0x40] = 0xc0;
    this.writeMask[0x41] = 0xff;
    this.writeMask[0x80] = 0x01;
    for (const r of [0x58, 0x59, 0x5a, 0x5b, 0x90, 0x91, 0xd2]) this.writeMask[r] = 0xff;
    this.config[0x90] = 0x01;
    this.config[0x5b] = 0x02; // see reset()
    this.timer = clock.createTimer('acpi-pm', (now) => this.overflow(now));
    this.pmPorts = {
      read8: (o) => this.readPm(o & ~1, 2) >> ((o & 1) * 8),
      write8: (o) => void o, // byte writes to 16-bit registers are not used by guests
      read16: (o) => this.readPm(o, 2),
      write16: (o, v) => this.writePm(o, v),
      read32: (o) => this.readPm(o, 4),
      write32: (o, v) => { this.writePm(o, v & 0xffff); if (o === 0) this.writePm(2, v >>> 16); },
    };
    io.register('acpi-gpe0', GPE0_BASE, 4, {
      read8: (o) => (o < 2 ? this.gpeStatus >> (o * 8) : this.gpeEnable >> ((o - 2) * 8)) & 0xff,
      write8: (o, v) => {
        if (o < 2) this.gpeStatus &= ~(v << (o * 8));
        else this.gpeEnable = (this.gpeEnable & ~(0xff << ((o - 2) * 8))) | (v << ((o - 2) * 8));
        this.updateSci();
      },
    });
    io.register('apm', 0xb2, 2, {
      read8: (o) => (o ? this.apmStatus : this.apmControl),
      write8: (o, v) => {
        if (o) {
          this.apmStatus = v;
          return;
        }
        this.apmControl = v;
        // The chipset itself handles the FADT's ACPI enable/disable values (no SMM handler).
        if (v === 0xf1) this.pm1Control |= CNT_SCI_EN;
        else if (v === 0xf0) this.pm1Control &= ~CNT_SCI_EN;
      },
    });
  }

  override reset(): void {
    super.reset();
    this.config[0x40] = 0x01;
    this.config[0x41] = 0;
    this.config[0x80] = 0;
    // There is no SMM: DEVACTB.APMC_EN (bit 25) reads as already set, so SeaBIOS takes SMM
    // setup as done instead of waiting for an SMI handler to acknowledge through port 0xB3.
    this.config[0x5b] = 0x02;
    this.pm1Status = this.pm1Enable = this.pm1Control = 0;
    this.gpeStatus = this.gpeEnable = 0;
    this.apmControl = this.apmStatus = 0;
    this.nextOverflow = -1;
    this.timer.cancel();
    this.updateSci();
    this.remap();
  }

  override postLoad(): void {
    super.postLoad();
    this.remap();
    if (this.nextOverflow >= 0) this.timer.set(this.nextOverflow);
    else this.timer.cancel();
    this.sci.set(this.sciLevel);
  }

  protected override configWritten(offset: number, _value: number, size: number): void {
    if ((offset <= 0x43 && offset + size > 0x40) || (offset <= 0x80 && offset + size > 0x80)) this.remap();
  }

  private remap(): void {
    const enabled = (this.config[0x80] & 1) !== 0;
    const base = enabled ? get32(this.config, 0x40) & 0xffc0 : -1;
    if (base === this.mappedBase) return;
    if (this.mappedBase >= 0) this.io.unregister(this.mappedBase, PM_BLOCK);
    this.mappedBase = base;
    if (base > 0) this.io.register('acpi-pm', base, PM_BLOCK, this.pmPorts);
  }

  /** Current 24-bit PM timer value. */
  timerValue(): number {
    return Math.floor((this.clock.now() * PM_TIMER_HZ) / NS_PER_SEC) & 0xffffff;
  }

  private readPm(o: number, size: number): number {
    switch (o) {
      case 0: return size === 4 ? (this.pm1Status | (this.pm1Enable << 16)) >>> 0 : this.pm1Status;
      case 2: return this.pm1Enable;
      case 4: return this.pm1Control & ~CNT_SLP_EN;
      case 8: return this.timerValue();
      case 10: return this.timerValue() >> 16;
      default: return 0;
    }
  }

  private writePm(o: number, v: number): void {
    switch (o) {
      case 0:
        this.pm1Status &= ~v;
        break;
      case 2:
        this.pm1Enable = v & (STS_TMR | STS_GBL | STS_PWRBTN | STS_RTC);
        this.armOverflow();
        break;
      case 4:
        this.pm1Control = v & ~CNT_SLP_EN;
        if (v & CNT_SLP_EN) {
          const type = (v >> 10) & 7;
          if (type === 0) {
            this.pm1Status |= STS_WAK;
            this.onPowerOff();
          }
          // Other sleep types (S1-S4) are not offered by the DSDT: ignored.
        }
        break;
      default:
        break;
    }
    this.updateSci();
  }

  private armOverflow(): void {
    if (!(this.pm1Enable & STS_TMR)) {
      this.nextOverflow = -1;
      this.timer.cancel();
      return;
    }
    // The next time bit 23 of the timer toggles.
    const ticks = Math.floor((this.clock.now() * PM_TIMER_HZ) / NS_PER_SEC);
    const next = (Math.floor(ticks / 0x800000) + 1) * 0x800000;
    this.nextOverflow = Math.ceil((next * NS_PER_SEC) / PM_TIMER_HZ);
    this.timer.set(this.nextOverflow);
  }

  private overflow(_now: number): void {
    this.pm1Status |= STS_TMR;
    this.armOverflow();
    this.updateSci();
  }

  /** The ACPI power button: sets PWRBTN_STS; the guest's SCI handler shuts down. */
  powerButton(): void {
    this.pm1Status |= STS_PWRBTN;
    this.updateSci();
  }

  /** True when an ACPI-aware guest would see the button (SCI enabled and the event armed). */
  get acpiActive(): boolean {
    return (this.pm1Control & CNT_SCI_EN) !== 0;
  }

  private updateSci(): void {
    const level =
      (this.pm1Control & CNT_SCI_EN) !== 0 &&
      ((this.pm1Status & this.pm1Enable & (STS_TMR | STS_GBL | STS_PWRBTN | STS_RTC)) !== 0 || (this.gpeStatus & this.gpeEnable) !== 0);
    if (level !== this.sciLevel) {
      this.sciLevel = level;
      this.sci.set(level);
    }
  }
}
