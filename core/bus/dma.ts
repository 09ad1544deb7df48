// ISA DMA as a device sees it: a channel of the 8237 pair (core/devices/dma8237.ts).
//
// The floppy controller (channel 2) or a Sound Blaster style device moves data through the
// channel when it has some; the controller applies the programmed address, count, direction,
// page register, auto-initialisation and mask, and reports terminal count.

export interface DmaChannel {
  /** Unmasked and programmed for a transfer (the device may assert DREQ). */
  readonly enabled: boolean;
  /** The programmed direction: 'write' = device to memory, 'read' = memory to device, 'verify'. */
  readonly direction: 'verify' | 'write' | 'read' | 'invalid';
  /** Device → memory. Returns the bytes moved (fewer when the count ran out or the channel is masked). */
  writeToMemory(data: Uint8Array): number;
  /** Memory → device. Returns the bytes moved into `buf`. */
  readFromMemory(buf: Uint8Array): number;
  /** Bytes left before terminal count. */
  readonly remaining: number;
  /** Terminal count was reached by the last transfer. */
  readonly terminalCount: boolean;
}
