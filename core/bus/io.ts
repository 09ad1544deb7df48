// The x86 port-I/O space (64 Ki ports). Devices register handlers for port ranges and see
// offsets relative to the range's base, so the same device can sit at different addresses
// (COM1..COM4, ISA vs PCI NE2000). Unclaimed ports read as all ones and ignore writes.

export interface PortHandler {
  read8?(offset: number): number;
  write8?(offset: number, value: number): void;
  /** Optional wide accessors; when absent a 16/32-bit access is split into byte accesses. */
  read16?(offset: number): number;
  write16?(offset: number, value: number): void;
  read32?(offset: number): number;
  write32?(offset: number, value: number): void;
}

const PORTS = 0x10000;

export class IoBus {
  private readonly owner: (PortHandler | undefined)[] = new Array(PORTS);
  private readonly base = new Uint16Array(PORTS);
  private readonly names: (string | undefined)[] = new Array(PORTS);
  /** Called for accesses to unclaimed ports (the platform logs them at debug level). */
  onUnclaimed: (port: number, write: boolean, value: number) => void = () => {};

  register(name: string, base: number, length: number, handler: PortHandler): void {
    for (let i = 0; i < length; i++) {
      const port = (base + i) & 0xffff;
      this.owner[port] = handler;
      this.base[port] = base;
      this.names[port] = name;
    }
  }

  unregister(base: number, length: number): void {
    for (let i = 0; i < length; i++) {
      const port = (base + i) & 0xffff;
      this.owner[port] = undefined;
      this.names[port] = undefined;
    }
  }

  /** Which device claims a port (for logs and tests). */
  claimant(port: number): string | undefined {
    return this.names[port & 0xffff];
  }

  in8(port: number): number {
    port &= 0xffff;
    const h = this.owner[port];
    if (h?.read8) return h.read8(port - this.base[port]) & 0xff;
    this.onUnclaimed(port, false, 0);
    return 0xff;
  }

  out8(port: number, value: number): void {
    port &= 0xffff;
    const h = this.owner[port];
    if (h?.write8) return h.write8(port - this.base[port], value & 0xff);
    this.onUnclaimed(port, true, value & 0xff);
  }

  in16(port: number): number {
    port &= 0xffff;
    const h = this.owner[port];
    if (h?.read16 && this.owner[(port + 1) & 0xffff] === h) return h.read16(port - this.base[port]) & 0xffff;
    return this.in8(port) | (this.in8(port + 1) << 8);
  }

  out16(port: number, value: number): void {
    port &= 0xffff;
    const h = this.owner[port];
    if (h?.write16 && this.owner[(port + 1) & 0xffff] === h) return h.write16(port - this.base[port], value & 0xffff);
    this.out8(port, value);
    this.out8(port + 1, value >>> 8);
  }

  in32(port: number): number {
    port &= 0xffff;
    const h = this.owner[port];
    if (h?.read32 && this.owner[(port + 3) & 0xffff] === h) return h.read32(port - this.base[port]) | 0;
    return (this.in16(port) | (this.in16(port + 2) << 16)) | 0;
  }

  out32(port: number, value: number): void {
    port &= 0xffff;
    const h = this.owner[port];
    if (h?.write32 && this.owner[(port + 3) & 0xffff] === h) return h.write32(port - this.base[port], value | 0);
    this.out16(port, value & 0xffff);
    this.out16(port + 2, value >>> 16);
  }
}
