// Debug console ports: 0x402 (SeaBIOS/QEMU debug output) and 0xE9 (Bochs "port E9 hack").
//
// Wiring: io.register('debugcon', 0x402, 1, dc); io.register('debugcon-e9', 0xe9, 1, dc).
// Bytes are collected into lines and handed to the board's log (config.log); reading returns
// 0xE9 so software can detect the port, as Bochs and QEMU do.

import type { PortHandler } from '../bus/io.js';

export class DebugConsole implements PortHandler {
  private line: number[] = [];
  /** Everything written, for tests (bounded). */
  private history = '';

  constructor(private readonly log: (message: string) => void) {}

  read8(): number {
    return 0xe9;
  }

  write8(_offset: number, value: number): void {
    if (value === 0x0a) {
      this.flush();
      return;
    }
    if (value === 0x0d) return;
    this.line.push(value);
    if (this.line.length >= 512) this.flush();
  }

  flush(): void {
    if (!this.line.length) return;
    const text = String.fromCharCode(...this.line);
    this.line = [];
    this.history = (this.history + text + '\n').slice(-65536);
    this.log(`debugcon: ${text}`);
  }

  /** The last 64 KiB written (lines). */
  text(): string {
    return this.history + String.fromCharCode(...this.line);
  }
}
