// APM 1.2 (INT 15h AH=53h, the Advanced Power Management BIOS interface), so DOS's POWER,
// Windows 9x and Linux's apm driver can idle the CPU and switch the machine off.
//
// The same functions are reached three ways: INT 15h (real or V86 mode; results in the
// registers and CF in the interrupt frame), and the 16-bit and 32-bit protected-mode entries
// that 5302h/5303h hand out (ROM stubs `out 0EEh, al; retf` at F000:D1A0/D1B0; results in the
// registers and the live CF). The code segments' base is F0000h (AX = F000h), the data
// segment is the EBDA. "Off" (5307h, device 0000h/0001h, state 0003h) goes through the PIIX4
// PM block like ACPI S5 does: SLP_TYP 0 | SLP_EN into PM1a_CNT. Standby and suspend are
// refused (60h), as the board has no sleep states.
//
// State lives in the EBDA (60h connection, 61h flags, 62h-63h driver version, 64h idle wait)
// so a machine saved while connected behaves the same after a restore.

import { AH, AL, AX, BH, BL, BX, CF, CH, CL, CX, DI, DX, SI, FirmwareContext } from './context.js';
import { BIOS_SEGMENT, ENTRY } from './rom.js';
import { PM_BASE } from './platform.js';

const EBDA_CONN = 0x60, EBDA_FLAGS = 0x61, EBDA_VERSION = 0x62, EBDA_IDLE = 0x64;
const CONN_NONE = 0, CONN_REAL = 1, CONN_PM16 = 2, CONN_PM32 = 3;
const FLAG_DISABLED = 1, FLAG_DISENGAGED = 2;
/** Connection-specific "already connected" errors (02h real mode, 05h 16-bit, 07h 32-bit). */
const ALREADY: Record<number, number> = { [CONN_REAL]: 0x02, [CONN_PM16]: 0x05, [CONN_PM32]: 0x07 };
/** APM version this BIOS implements (BCD). */
export const APM_VERSION = 0x0102;
/** Installation check CX: 16-bit and 32-bit protected-mode interfaces supported. */
const APM_FLAGS = 0x0003;
const EBDA_BYTES = 1024;
const ERR = { notConnected: 0x03, badDevice: 0x09, badParam: 0x0a, unsupported: 0x0c, cannotEnter: 0x60, noEvents: 0x80 };

export type ApmCaller = 'int15' | 'pm16' | 'pm32';

export class ApmBios {
  constructor(private readonly fw: FirmwareContext) {}

  private ebda(o: number): number { return (this.fw.bda16(0x0e) << 4) + o; }
  private get8(o: number): number { return this.fw.machine.memory.read8(this.ebda(o)); }
  private put8(o: number, v: number): void { this.fw.machine.memory.write8(this.ebda(o), v); }

  /** Connection state for tests and logs: 'none', 'real', 'pm16', 'pm32'. */
  connection(): 'none' | 'real' | 'pm16' | 'pm32' {
    return (['none', 'real', 'pm16', 'pm32'] as const)[this.get8(EBDA_CONN)] ?? 'none';
  }

  /** Dispatch one APM call (AH=53h, function in AL). */
  handle(caller: ApmCaller): void {
    const fw = this.fw;
    const fn = fw.r8(AL), bx = fw.r16(BX);
    const ok = () => this.result(caller, true, 0);
    const fail = (code: number) => this.result(caller, false, code);
    const conn = this.get8(EBDA_CONN);
    const needConnection = () => {
      if (conn === CONN_NONE) { fail(ERR.notConnected); return false; }
      return true;
    };
    switch (fn) {
      case 0x00: // installation check
        if (bx !== 0) return fail(ERR.badDevice);
        fw.set16(AX, APM_VERSION);
        fw.set16(BX, 0x504d); // "PM"
        fw.set16(CX, APM_FLAGS | (this.get8(EBDA_FLAGS) & FLAG_DISABLED ? 0x08 : 0) | (this.get8(EBDA_FLAGS) & FLAG_DISENGAGED ? 0x10 : 0));
        return ok();
      case 0x01: case 0x02: case 0x03: { // connect real mode / 16-bit / 32-bit protected mode
        if (bx !== 0) return fail(ERR.badDevice);
        if (conn !== CONN_NONE) return fail(ALREADY[conn]);
        this.put8(EBDA_CONN, fn === 0x01 ? CONN_REAL : fn === 0x02 ? CONN_PM16 : CONN_PM32);
        this.put8(EBDA_FLAGS, 0);
        fw.machine.memory.write16(this.ebda(EBDA_VERSION), 0x0100); // APM 1.0 until 530Eh
        const ebdaSeg = fw.bda16(0x0e);
        if (fn === 0x02) {
          fw.set16(AX, BIOS_SEGMENT); fw.set16(BX, ENTRY.apm16); fw.set16(CX, ebdaSeg);
          fw.set16(SI, 0xffff); fw.set16(DI, EBDA_BYTES);
        } else if (fn === 0x03) {
          fw.set16(AX, BIOS_SEGMENT); fw.set32(BX, ENTRY.apm32); fw.set16(CX, BIOS_SEGMENT); fw.set16(DX, ebdaSeg);
          fw.set32(SI, 0xffffffff); // 32-bit and 16-bit code segment lengths (64 KiB each)
          fw.set16(DI, EBDA_BYTES);
        }
        fw.machine.config.log(`firmware: APM ${['', 'real-mode', '16-bit protected-mode', '32-bit protected-mode'][fn]} interface connected`);
        return ok();
      }
      case 0x04: // disconnect
        if (bx !== 0) return fail(ERR.badDevice);
        if (!needConnection()) return;
        this.put8(EBDA_CONN, CONN_NONE);
        this.put8(EBDA_FLAGS, 0);
        return ok();
      case 0x05: { // CPU idle: halt until the next interrupt (INT 15h only; the PM entries return)
        if (!needConnection()) return;
        if (caller === 'int15' && this.get8(EBDA_IDLE) === 0) {
          this.put8(EBDA_IDLE, 1);
          fw.setRetry(true);
          return;
        }
        this.put8(EBDA_IDLE, 0);
        return ok();
      }
      case 0x06: // CPU busy
        if (!needConnection()) return;
        return ok();
      case 0x07: return this.setPowerState(caller, bx, fw.r16(CX));
      case 0x08: // enable/disable power management (device 0001h or FFFFh: all)
        if (!needConnection()) return;
        if (bx !== 0x0001 && bx !== 0xffff) return fail(ERR.badDevice);
        if (fw.r16(CX) > 1) return fail(ERR.badParam);
        this.setFlag(FLAG_DISABLED, fw.r16(CX) === 0);
        return ok();
      case 0x09: // restore power-on defaults
        if (!needConnection()) return;
        this.put8(EBDA_FLAGS, 0);
        return ok();
      case 0x0a: // power status: AC on line, no battery
        if (bx !== 0x0001 && (bx & 0xff00) !== 0x8000) return fail(ERR.badDevice);
        fw.set8(BH, 0x01); fw.set8(BL, 0xff); fw.set8(CH, 0x80); fw.set8(CL, 0xff); fw.set16(DX, 0xffff);
        if (bx === 0x0001) fw.set16(SI, 0);
        return ok();
      case 0x0b: // PM event: none ever
        if (!needConnection()) return;
        return fail(ERR.noEvents);
      case 0x0c: // power state of a device
        if (!needConnection()) return;
        if (bx !== 0x0001) return fail(ERR.badDevice);
        fw.set16(CX, 0);
        return ok();
      case 0x0d: // enable/disable device power management
        if (!needConnection()) return;
        if (bx !== 0x0001 && bx !== 0xffff) return fail(ERR.badDevice);
        if (fw.r16(CX) > 1) return fail(ERR.badParam);
        return ok();
      case 0x0e: { // driver version: the lower of the driver's and ours
        if (bx !== 0) return fail(ERR.badDevice);
        if (!needConnection()) return;
        const v = Math.min(fw.r16(CX), APM_VERSION);
        if (v < 0x0100) return fail(ERR.badParam);
        fw.machine.memory.write16(this.ebda(EBDA_VERSION), v);
        fw.set16(AX, v);
        return ok();
      }
      case 0x0f: // engage/disengage power management
        if (!needConnection()) return;
        if (bx !== 0x0001 && bx !== 0xffff) return fail(ERR.badDevice);
        if (fw.r16(CX) > 1) return fail(ERR.badParam);
        this.setFlag(FLAG_DISENGAGED, fw.r16(CX) === 0);
        return ok();
      case 0x10: // capabilities: no batteries, no resume timers or rings
        if (bx !== 0) return fail(ERR.badDevice);
        if (!needConnection()) return;
        fw.set8(BL, 0); fw.set16(CX, 0);
        return ok();
      default:
        return fail(ERR.unsupported);
    }
  }

  /**
   * 5307h. "Off" for the APM BIOS (0000h) or all devices (0001h) powers the machine off; "ready"
   * is accepted; standby and suspend are refused. Like most BIOSes (SeaBIOS included) this
   * does not insist on a connection first, so small DOS "shutdown" tools work.
   */
  private setPowerState(caller: ApmCaller, device: number, state: number): void {
    if (device !== 0x0000 && device !== 0x0001 && device !== 0xffff) return this.result(caller, false, ERR.badDevice);
    if (state === 0x0000) return this.result(caller, true, 0);
    if (state === 0x0001 || state === 0x0002) return this.result(caller, false, ERR.cannotEnter);
    if (state !== 0x0003) return this.result(caller, false, ERR.badParam);
    const fw = this.fw;
    fw.machine.config.log('firmware: APM power off');
    this.result(caller, true, 0);
    // The PIIX4 PM block POST mapped at PM_BASE: SLP_TYP 0 (the DSDT's \_S5) with SLP_EN.
    fw.machine.io.out16(PM_BASE + 4, 0x2000);
  }

  private setFlag(flag: number, on: boolean): void {
    const f = this.get8(EBDA_FLAGS);
    this.put8(EBDA_FLAGS, on ? f | flag : f & ~flag);
  }

  /** CF (and the error code in AH); on success AH is left as the function set it. */
  private result(caller: ApmCaller, ok: boolean, ah: number): void {
    if (!ok) this.fw.set8(AH, ah);
    if (caller === 'int15') this.fw.setCallerFlag(CF, !ok);
    else this.fw.setRetry(!ok); // the PM entries return the live CF
  }
}
