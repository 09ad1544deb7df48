// National Semiconductor 16550A UART (COM1 0x3F8 IRQ 4, COM2 0x2F8 IRQ 3, COM3 0x3E8, COM4 0x2E8).
//
// Wiring: io.register('com1', 0x3f8, 8, uart); new Uart('uart.com1', clock, irqLine, backend).
// The backend (core/board/machine.ts SerialBackend) receives transmitted bytes at once and is
// polled for input by a timer paced at the programmed baud rate, so a guest sees characters
// arrive at a realistic rate and receive FIFO trigger levels and the character timeout work.
//
// Registers: RBR/THR/DLL, IER/DLM, IIR/FCR, LCR, MCR, LSR, MSR, SCR. Interrupt priority: line
// status > received data (trigger level or timeout) > THR empty > modem status. Loopback
// (MCR bit 4) routes THR to RBR and MCR outputs to the MSR inputs.

import type { PortHandler } from '../bus/io.js';
import type { IrqLine } from '../bus/irq.js';
import type { SerialBackend } from '../board/machine.js';
import type { Timer, VirtualClock } from '../timing/clock.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

const FIFO = 16;
const IER_RDA = 1, IER_THRE = 2, IER_RLS = 4, IER_MS = 8;
const LSR_DR = 1, LSR_OE = 2, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const MCR_LOOP = 0x10;
const IIR_NONE = 1, IIR_MS = 0, IIR_THRE = 2, IIR_RDA = 4, IIR_RLS = 6, IIR_TIMEOUT = 0xc;

export class Uart implements PortHandler, Stateful {
  readonly vmstate: VMStateDecl;
  rbrFifo = new Uint8Array(FIFO);
  rxHead = 0;
  rxCount = 0;
  ier = 0;
  lcr = 0;
  mcr = 0;
  lsr = LSR_THRE | LSR_TEMT;
  msr = 0xb0; // CTS, DSR, DCD asserted by the "cable"
  scr = 0;
  dll = 0x0c; // 9600 baud
  dlm = 0;
  fcr = 0;
  /** THR-empty interrupt pending (cleared by reading IIR when it is the reported source, or writing THR). */
  thrIpending = true;
  /** Receive character timeout pending. */
  timeoutPending = false;
  /** Virtual ns of the next receive poll, -1 when idle. */
  nextPoll = -1;
  lastIrq = false;
  private readonly timer: Timer;
  private pendingInput: Uint8Array | null = null;
  private pendingPos = 0;
  /** Transmitted-byte observers (--until on COM1). */
  onTransmit: ((byte: number) => void) | null = null;

  constructor(name: string, private readonly clock: VirtualClock, private readonly irq: IrqLine, private backend: SerialBackend | null) {
    this.vmstate = {
      name,
      version: 1,
      fields: [
        { name: 'rbrFifo', type: 'u8[]', length: FIFO }, { name: 'rxHead', type: 'u8' }, { name: 'rxCount', type: 'u8' },
        { name: 'ier', type: 'u8' }, { name: 'lcr', type: 'u8' }, { name: 'mcr', type: 'u8' }, { name: 'lsr', type: 'u8' },
        { name: 'msr', type: 'u8' }, { name: 'scr', type: 'u8' }, { name: 'dll', type: 'u8' }, { name: 'dlm', type: 'u8' },
        { name: 'fcr', type: 'u8' }, { name: 'thrIpending', type: 'bool' }, { name: 'timeoutPending', type: 'bool' },
        { name: 'nextPoll', type: 'f64' }, { name: 'lastIrq', type: 'bool' },
      ],
    };
    this.timer = clock.createTimer(name, (now) => this.poll(now));
    this.schedulePoll();
  }

  setBackend(backend: SerialBackend | null): void {
    this.backend = backend;
  }

  reset(): void {
    this.rxHead = this.rxCount = 0;
    this.ier = this.lcr = this.mcr = this.scr = this.fcr = 0;
    this.lsr = LSR_THRE | LSR_TEMT;
    this.msr = 0xb0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.thrIpending = true;
    this.timeoutPending = false;
    this.updateIrq();
    this.schedulePoll();
  }

  postLoad(): void {
    if (this.nextPoll >= 0) this.timer.set(this.nextPoll);
    this.irq.set(this.lastIrq);
  }

  private get fifoEnabled(): boolean {
    return (this.fcr & 1) !== 0;
  }

  /** Nanoseconds per character at the programmed divisor (10 bits per character). */
  private charTimeNs(): number {
    const divisor = (this.dlm << 8) | this.dll || 1;
    return (divisor * 16 * 10 * 1e9) / 1_843_200;
  }

  private schedulePoll(): void {
    // Poll at least every 2 ms even at slow rates, and no faster than 115200 baud.
    const t = Math.min(this.charTimeNs(), 2_000_000);
    this.nextPoll = this.clock.now() + t;
    this.timer.set(this.nextPoll);
  }

  private poll(_now: number): void {
    this.schedulePoll();
    if (this.mcr & MCR_LOOP) return;
    if (this.rxCount >= (this.fifoEnabled ? FIFO : 1)) {
      // Receiver full: the character stays in the host buffer (flow control by the host).
      if (this.rxCount > 0 && this.fifoEnabled) this.timeoutPending = true;
      this.updateIrq();
      return;
    }
    if (!this.pendingInput && this.backend) {
      this.pendingInput = this.backend.poll();
      this.pendingPos = 0;
    }
    if (this.pendingInput && this.pendingPos < this.pendingInput.length) {
      this.receive(this.pendingInput[this.pendingPos++]);
      if (this.pendingPos >= this.pendingInput.length) this.pendingInput = null;
    } else if (this.rxCount > 0 && this.fifoEnabled) {
      // No new character for a character time while data waits below the trigger level.
      this.timeoutPending = true;
      this.updateIrq();
    }
  }

  /** Put a received byte into RBR/the FIFO (from the line or loopback). */
  receive(byte: number): void {
    const cap = this.fifoEnabled ? FIFO : 1;
    if (this.rxCount >= cap) {
      this.lsr |= LSR_OE;
      if (!this.fifoEnabled) this.rbrFifo[this.rxHead] = byte; // the holding register is overwritten
    } else {
      this.rbrFifo[(this.rxHead + this.rxCount) % FIFO] = byte;
      this.rxCount++;
    }
    this.lsr |= LSR_DR;
    this.timeoutPending = false;
    this.updateIrq();
  }

  private triggerLevel(): number {
    return [1, 4, 8, 14][this.fcr >> 6];
  }

  private interruptId(): number {
    if ((this.ier & IER_RLS) && (this.lsr & (LSR_OE | LSR_BI | 0x0c))) return IIR_RLS;
    if (this.ier & IER_RDA) {
      if (this.timeoutPending && this.rxCount > 0) return IIR_TIMEOUT;
      if (this.rxCount > 0 && (!this.fifoEnabled || this.rxCount >= this.triggerLevel())) return IIR_RDA;
    }
    if ((this.ier & IER_THRE) && this.thrIpending) return IIR_THRE;
    if ((this.ier & IER_MS) && (this.msr & 0x0f)) return IIR_MS;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.interruptId() !== IIR_NONE && (this.mcr & 0x08) !== 0; // OUT2 gates the IRQ on PCs
    if (level !== this.lastIrq) {
      this.lastIrq = level;
      this.irq.set(level);
    }
  }

  read8(offset: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset & 7) {
      case 0: {
        if (dlab) return this.dll;
        if (this.rxCount === 0) return this.rbrFifo[this.rxHead];
        const v = this.rbrFifo[this.rxHead];
        this.rxHead = (this.rxHead + 1) % FIFO;
        this.rxCount--;
        if (this.rxCount === 0) this.lsr &= ~LSR_DR;
        this.timeoutPending = false;
        this.updateIrq();
        return v;
      }
      case 1:
        return dlab ? this.dlm : this.ier;
      case 2: {
        const id = this.interruptId();
        if (id === IIR_THRE) this.thrIpending = false;
        this.updateIrq();
        return id | (this.fifoEnabled ? 0xc0 : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr;
        this.lsr &= ~(LSR_OE | LSR_BI | 0x0c);
        this.updateIrq();
        return v;
      }
      case 6: {
        let v: number;
        if (this.mcr & MCR_LOOP) {
          // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
          const m = this.mcr;
          v = ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4);
          v |= this.msr & 0x0f;
        } else {
          v = this.msr;
        }
        this.msr &= 0xf0; // reading clears the delta bits
        this.updateIrq();
        return v;
      }
      default:
        return this.scr;
    }
  }

  write8(offset: number, value: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset & 7) {
      case 0:
        if (dlab) {
          this.dll = value;
          return;
        }
        this.transmit(value);
        return;
      case 1:
        if (dlab) {
          this.dlm = value;
          return;
        }
        // Enabling THRE interrupts while THR is empty raises one at once.
        if (!(this.ier & IER_THRE) && (value & IER_THRE) && (this.lsr & LSR_THRE)) this.thrIpending = true;
        this.ier = value & 0x0f;
        this.updateIrq();
        return;
      case 2: {
        const wasEnabled = this.fifoEnabled;
        if ((value & 1) !== (this.fcr & 1) || (value & 2)) {
          this.rxCount = 0;
          this.rxHead = 0;
          this.lsr &= ~LSR_DR;
          this.timeoutPending = false;
        }
        this.fcr = value & 0xc9;
        if (!wasEnabled && !this.fifoEnabled) this.fcr = 0;
        this.updateIrq();
        return;
      }
      case 3:
        this.lcr = value;
        if (!(value & 0x80)) this.schedulePoll();
        return;
      case 4: {
        const old = this.mcr;
        this.mcr = value & 0x1f;
        if ((old ^ this.mcr) & MCR_LOOP || this.mcr & MCR_LOOP) {
          // Delta bits for the loopback-driven inputs.
          const before = loopMsr(old), after = loopMsr(this.mcr);
          if (this.mcr & MCR_LOOP && old & MCR_LOOP) {
            const delta = before ^ after;
            if (delta & 0x10) this.msr |= 1;
            if (delta & 0x20) this.msr |= 2;
            if (before & 0x40 && !(after & 0x40)) this.msr |= 4;
            if (delta & 0x80) this.msr |= 8;
          }
        }
        this.updateIrq();
        return;
      }
      case 5:
        return; // LSR is read-only (factory test writes ignored)
      case 6:
        return;
      default:
        this.scr = value;
    }
  }

  private transmit(value: number): void {
    this.thrIpending = false;
    if (this.mcr & MCR_LOOP) {
      this.receive(value);
    } else {
      this.backend?.write(Uint8Array.of(value));
      this.onTransmit?.(value);
    }
    // The shift register drains instantly from the guest's point of view.
    this.lsr |= LSR_THRE | LSR_TEMT;
    this.thrIpending = true;
    this.updateIrq();
  }
}

function loopMsr(mcr: number): number {
  return ((mcr & 2) << 3) | ((mcr & 1) << 5) | ((mcr & 4) << 4) | ((mcr & 8) << 4);
}
