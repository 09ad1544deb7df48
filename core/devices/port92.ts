// System control port A (0x92): fast A20 gate (bit 1) and fast reset (bit 0, rising edge).
//
// Wiring: io.register('port92', 0x92, 1, port92); new Port92(memory, onReset). Reading gives
// the A20 state as the memory bus holds it (the keyboard controller's output port drives the
// same gate), so both paths agree.

import type { PortHandler } from '../bus/io.js';
import type { PhysicalMemory } from '../bus/memory.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

export class Port92 implements PortHandler, Stateful {
  readonly vmstate: VMStateDecl = { name: 'port92', version: 1, fields: [{ name: 'value', type: 'u8' }] };
  /** Bits other than A20 as last written (bit 0 reads back until the reset happens). */
  value = 0;

  constructor(private readonly memory: PhysicalMemory, private readonly onReset: () => void) {}

  reset(): void {
    this.value = 0;
  }

  read8(): number {
    return (this.value & ~0x02) | (this.memory.a20Enabled ? 0x02 : 0);
  }

  write8(_offset: number, value: number): void {
    const old = this.value;
    this.value = value & ~0x02;
    this.memory.setA20((value & 0x02) !== 0);
    if ((value & 1) && !(old & 1)) this.onReset();
  }
}
