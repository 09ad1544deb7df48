// The NAT's DHCP server (RFC 2131/2132): one lease, the guest address, answered from the
// gateway. DISCOVER → OFFER, REQUEST → ACK (or NAK for another address), with options
// 1 subnet mask, 3 router, 6 DNS, 15 domain name, 51 lease time, 54 server identifier.

import { get32, put16, put32 } from './packet.js';

export const DHCP_DISCOVER = 1;
export const DHCP_OFFER = 2;
export const DHCP_REQUEST = 3;
export const DHCP_ACK = 5;
export const DHCP_NAK = 6;
export const DHCP_RELEASE = 7;
const MAGIC = 0x63825363;

export interface DhcpConfig {
  guestIp: number;
  serverIp: number;
  netmask: number;
  router: number;
  dns: number;
  domain: string;
  leaseSeconds: number;
}

export interface DhcpMessage {
  op: number;
  xid: number;
  flags: number;
  ciaddr: number;
  chaddr: Uint8Array;
  type: number;
  requestedIp: number;
  serverId: number;
}

/** Parse a BOOTP/DHCP message; null when it is not a well-formed DHCP request. */
export function parseDhcp(d: Uint8Array): DhcpMessage | null {
  if (d.length < 240 || d[0] !== 1 || d[1] !== 1 || d[2] !== 6) return null;
  if (get32(d, 236) !== MAGIC) return null;
  const msg: DhcpMessage = {
    op: d[0],
    xid: get32(d, 4),
    flags: (d[10] << 8) | d[11],
    ciaddr: get32(d, 12),
    chaddr: d.slice(28, 34),
    type: 0,
    requestedIp: 0,
    serverId: 0,
  };
  for (let i = 240; i < d.length;) {
    const code = d[i];
    if (code === 255) break;
    if (code === 0) { i++; continue; }
    if (i + 1 >= d.length) return null;
    const len = d[i + 1];
    if (i + 2 + len > d.length) return null;
    if (code === 53 && len >= 1) msg.type = d[i + 2];
    else if (code === 50 && len === 4) msg.requestedIp = get32(d, i + 2);
    else if (code === 54 && len === 4) msg.serverId = get32(d, i + 2);
    i += 2 + len;
  }
  return msg.type ? msg : null;
}

/** The server's answer to `msg` (BOOTP payload), or null when it needs none. */
export function dhcpReply(msg: DhcpMessage, cfg: DhcpConfig): { type: number; payload: Uint8Array } | null {
  let type: number;
  if (msg.type === DHCP_DISCOVER) type = DHCP_OFFER;
  else if (msg.type === DHCP_REQUEST) {
    if (msg.serverId && msg.serverId !== cfg.serverIp) return null; // the guest chose another server
    const wanted = msg.requestedIp || msg.ciaddr;
    type = wanted && wanted !== cfg.guestIp ? DHCP_NAK : DHCP_ACK;
  } else return null;
  const out = new Uint8Array(300);
  out[0] = 2; // BOOTREPLY
  out[1] = 1;
  out[2] = 6;
  put32(out, 4, msg.xid);
  put16(out, 10, msg.flags & 0x8000);
  if (type !== DHCP_NAK) put32(out, 16, cfg.guestIp); // yiaddr
  put32(out, 20, cfg.serverIp); // siaddr
  out.set(msg.chaddr, 28);
  put32(out, 236, MAGIC);
  let i = 240;
  const opt = (code: number, bytes: number[]) => {
    out[i++] = code;
    out[i++] = bytes.length;
    for (const b of bytes) out[i++] = b;
  };
  const ip = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  opt(53, [type]);
  opt(54, ip(cfg.serverIp));
  if (type !== DHCP_NAK) {
    opt(51, ip(cfg.leaseSeconds));
    opt(1, ip(cfg.netmask));
    opt(3, ip(cfg.router));
    opt(6, ip(cfg.dns));
    const dom = Array.from(new TextEncoder().encode(cfg.domain.slice(0, 40)));
    if (dom.length) opt(15, dom);
  }
  out[i++] = 255;
  return { type, payload: out };
}
