// A VM's network settings beyond model and mode: port forwards, the cable, the capture file and
// the MAC address. Parsing (CLI specs, MAC text) and validation live here so the library, the
// CLI and `perseus run` agree on what is accepted and say the same things about bad input.

import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import type { NicSettings, PortForwardSetting, ValidationIssue } from '../../core/api/contract.js';
import { macForVm } from './attach.js';

/** "52:54:00:12:34:56" (also with "-" between the bytes), case-insensitive. */
const MAC_PATTERN = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** The six bytes of a MAC address written as text, or null when it is not one. */
export function parseMac(text: string): number[] | null {
  const m = MAC_PATTERN.exec(text.trim());
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h, 16));
}

export function formatMac(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Why a MAC cannot be a NIC's own address, or null when it can. */
export function macProblem(text: string): string | null {
  const b = parseMac(text);
  if (!b) return `MAC address "${text}" must be six hex bytes like 52:54:00:12:34:56`;
  if (b[0] & 1) return `MAC address "${text}" is a multicast address (lowest bit of the first byte set); a network adapter needs a unicast one such as 52:54:00:…`;
  if (b.every((x) => x === 0)) return 'MAC address 00:00:00:00:00:00 is not a valid adapter address';
  return null;
}

/** The MAC a VM's NIC gets: its setting, else one derived from its id (stable, 52:54:00:xx:xx:xx). */
export function vmMac(nic: Pick<NicSettings, 'mac'>, vmId: string): number[] {
  return (typeof nic.mac === 'string' ? parseMac(nic.mac) : null) ?? macForVm(vmId);
}

const LOOPBACK_V4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Loopback addresses, and the "any" addresses a user may type on purpose to listen everywhere. */
export function hostAddressProblem(address: string): string | null {
  const m = LOOPBACK_V4.exec(address);
  if (m && m.slice(1).every((p) => Number(p) <= 255)) return null;
  if (address === '::1' || address === '0.0.0.0' || address === '::') return null;
  return `Host address "${address}" must be a loopback address (127.0.0.1, ::1), or 0.0.0.0 / :: to listen on every interface`;
}

/** Do two host addresses of forwards listen on overlapping addresses? */
function overlaps(a: string, b: string): boolean {
  const any = (x: string) => x === '0.0.0.0' || x === '::';
  return a === b || any(a) || any(b);
}

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

/**
 * Problems with the network extras of `nic` (forwards, cableConnected, capture, mac), each with
 * its dotted field. Model and mode are checked by the library's validator.
 */
export function nicExtrasIssues(nic: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (field: string, message: string) => issues.push({ field, message });
  const fw = nic.forwards;
  if (fw !== undefined) {
    if (!Array.isArray(fw)) add('nic.forwards', 'Port forwards must be a list of {protocol, hostPort, guestPort}');
    else {
      if (fw.length > 0 && nic.network !== 'nat') {
        add('nic.forwards', `Port forwards work only on the NAT network; remove them or choose "nat" (the network is "${String(nic.network)}")`);
      }
      if (fw.length > 64) add('nic.forwards', `At most 64 port forwards, not ${fw.length}`);
      const seen: { protocol: string; hostPort: number; address: string; index: number }[] = [];
      fw.forEach((f: unknown, i: number) => {
        const at = `nic.forwards.${i}`;
        const n = i + 1;
        if (typeof f !== 'object' || f === null || Array.isArray(f)) { add(at, `Port forward ${n} must be an object {protocol, hostPort, guestPort}`); return; }
        const r = f as Record<string, unknown>;
        let ok = true;
        if (r.protocol !== 'tcp' && r.protocol !== 'udp') { add(`${at}.protocol`, `Port forward ${n}: the protocol must be "tcp" or "udp", not ${JSON.stringify(r.protocol)}`); ok = false; }
        if (!isPort(r.hostPort)) { add(`${at}.hostPort`, `Port forward ${n}: the host port must be a whole number from 1 to 65535, not ${JSON.stringify(r.hostPort)}`); ok = false; }
        if (!isPort(r.guestPort)) add(`${at}.guestPort`, `Port forward ${n}: the guest port must be a whole number from 1 to 65535, not ${JSON.stringify(r.guestPort)}`);
        let address = '127.0.0.1';
        if (r.hostAddress !== undefined) {
          if (typeof r.hostAddress !== 'string') { add(`${at}.hostAddress`, `Port forward ${n}: the host address must be text`); ok = false; }
          else {
            const problem = hostAddressProblem(r.hostAddress);
            if (problem) { add(`${at}.hostAddress`, `Port forward ${n}: ${problem}`); ok = false; }
            address = r.hostAddress;
          }
        }
        for (const k of Object.keys(r)) {
          if (!['protocol', 'hostPort', 'guestPort', 'hostAddress'].includes(k)) add(`${at}.${k}`, `Port forward ${n}: unknown field "${k}"`);
        }
        if (!ok) return;
        const clash = seen.find((s) => s.protocol === r.protocol && s.hostPort === r.hostPort && overlaps(s.address, address));
        if (clash) add(`${at}.hostPort`, `Port forwards ${clash.index + 1} and ${n} both listen on host ${String(r.protocol).toUpperCase()} port ${String(r.hostPort)}`);
        else seen.push({ protocol: r.protocol as string, hostPort: r.hostPort as number, address, index: i });
      });
    }
  }
  if (nic.cableConnected !== undefined && typeof nic.cableConnected !== 'boolean') {
    add('nic.cableConnected', `"Cable connected" must be true or false, not ${JSON.stringify(nic.cableConnected)}`);
  }
  const cap = nic.capture;
  if (cap !== undefined && cap !== null) {
    if (typeof cap !== 'string' || cap === '') add('nic.capture', 'The capture file must be a file path (or nothing for no capture)');
    else if (!isAbsolute(cap)) add('nic.capture', `The capture file must be an absolute path, not "${cap}"`);
    else if (existsSync(cap) && statSync(cap).isDirectory()) add('nic.capture', `The capture file ${cap} is a folder; name a file such as ${cap.replace(/\/$/, '')}/vm.pcap`);
    else if (!existsSync(dirname(cap))) add('nic.capture', `The folder of the capture file does not exist: ${dirname(cap)}`);
  }
  if (nic.mac !== undefined && nic.mac !== null) {
    if (typeof nic.mac !== 'string') add('nic.mac', 'The MAC address must be text like 52:54:00:12:34:56');
    else {
      const problem = macProblem(nic.mac);
      if (problem) add('nic.mac', problem);
    }
  }
  return issues;
}

/**
 * A forward written on the command line: PROTO:HOSTPORT:GUESTPORT or
 * PROTO:HOSTADDR:HOSTPORT:GUESTPORT (an IPv6 host address in brackets), e.g. tcp:8080:80,
 * udp:127.0.0.1:5353:53, tcp:[::1]:2222:22. Throws an Error with a usable message.
 */
export function parseForwardSpec(spec: string): PortForwardSetting {
  const m = /^(tcp|udp):(?:(\[[0-9a-fA-F:]+\]|[0-9.]+):)?(\d{1,5}):(\d{1,5})$/i.exec(spec.trim());
  if (!m) throw new Error(`bad port forward "${spec}": write PROTOCOL:HOSTPORT:GUESTPORT, e.g. tcp:8080:80 (or tcp:127.0.0.1:8080:80)`);
  const fwd: PortForwardSetting = { protocol: m[1].toLowerCase() as 'tcp' | 'udp', hostPort: Number(m[3]), guestPort: Number(m[4]) };
  if (m[2]) fwd.hostAddress = m[2].replace(/^\[|\]$/g, '');
  return fwd;
}

export function formatForward(f: PortForwardSetting): string {
  const host = f.hostAddress === undefined ? '' : `${f.hostAddress.includes(':') ? `[${f.hostAddress}]` : f.hostAddress}:`;
  return `${f.protocol}:${host}${f.hostPort}:${f.guestPort}`;
}

/** Forwards as the NAT takes them (missing host address: 127.0.0.1). */
export function natForwards(nic: Pick<NicSettings, 'network' | 'forwards'>): PortForwardSetting[] {
  return nic.network === 'nat' ? (nic.forwards ?? []).map((f) => ({ ...f })) : [];
}
