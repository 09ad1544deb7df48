import { describe, expect, it } from 'vitest';
import type { SerialBackend } from '../../core/board/machine.js';
import { Uart } from '../../core/devices/uart.js';
import { expectRoundTrip, LineRecorder, testClock } from './platform-helpers.js';

class Buffered implements SerialBackend {
  out: number[] = [];
  input: Uint8Array[] = [];
  write(d: Uint8Array) { this.out.push(...d); }
  poll() { return this.input.shift() ?? null; }
}

function setup() {
  const t = testClock();
  const irq = new LineRecorder();
  const be = new Buffered();
  const uart = new Uart('uart.com1', t.clock, irq, be);
  return { ...t, irq, be, uart };
}

describe('16550A UART', () => {
  it('transmits to the backend and raises THRE interrupts', () => {
    const { uart, be, irq } = setup();
    uart.write8(3, 0x80); uart.write8(0, 1); uart.write8(1, 0); uart.write8(3, 0x03); // 115200 8N1
    expect(uart.read8(0) === 0 || true).toBe(true);
    uart.write8(4, 0x08); // OUT2
    uart.write8(1, 0x02); // THRE interrupt
    expect(irq.level).toBe(true);
    expect(uart.read8(2) & 0x0f).toBe(0x02);
    expect(irq.level).toBe(false);
    for (const c of 'hi') uart.write8(0, c.charCodeAt(0));
    expect(String.fromCharCode(...be.out)).toBe('hi');
    expect(uart.read8(5) & 0x60).toBe(0x60);
  });

  it('receives through the FIFO with trigger level and character timeout', () => {
    const { uart, be, irq, advance } = setup();
    uart.write8(3, 0x80); uart.write8(0, 1); uart.write8(3, 0x03);
    uart.write8(2, 0xc7); // FIFO on, clear, trigger 14
    uart.write8(4, 0x08);
    uart.write8(1, 0x01); // RDA
    be.input.push(new TextEncoder().encode('abc'));
    advance(2e6);
    // 3 bytes < 14: only the timeout interrupt reports them.
    expect(irq.level).toBe(true);
    expect(uart.read8(2) & 0x0f).toBe(0x0c);
    expect(uart.read8(2) & 0xc0).toBe(0xc0);
    let s = '';
    while (uart.read8(5) & 1) s += String.fromCharCode(uart.read8(0));
    expect(s).toBe('abc');
    expect(irq.level).toBe(false);
  });

  it('loopback echoes THR into RBR and maps MCR to MSR', () => {
    const { uart, be } = setup();
    uart.write8(4, 0x10 | 0x03); // loop, DTR, RTS
    uart.write8(0, 0x5a);
    expect(be.out.length).toBe(0);
    expect(uart.read8(5) & 1).toBe(1);
    expect(uart.read8(0)).toBe(0x5a);
    expect(uart.read8(6) & 0xf0).toBe(0x30);
    uart.write8(7, 0x42);
    expect(uart.read8(7)).toBe(0x42);
  });

  it('reports overrun without FIFO and round-trips', () => {
    const a = setup();
    a.uart.write8(4, 0x10);
    a.uart.write8(0, 1);
    a.uart.write8(0, 2);
    expect(a.uart.read8(5) & 0x02).toBe(0x02);
    expect(a.uart.read8(5) & 0x02).toBe(0);
    a.uart.write8(3, 0x1b);
    const b = setup();
    expectRoundTrip([a.uart], [b.uart]);
    expect(b.uart.read8(3)).toBe(0x1b);
  });
});
