/**
 * Whether a datagram's source is on this host's own links: loopback, an IPv4 address inside one of the
 * interfaces' subnets, an IPv6 link-local address or one inside an interface's prefix. WS-Discovery is a
 * link-local protocol (its multicast never leaves the link), so a probe claiming any other source is
 * spoofed or routed from afar, and answering it would reflect traffic at someone else.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { NetworkInterfaceInfo } from "node:os";

export function isOnLink(address: string, interfaces: readonly NetworkInterfaceInfo[]): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const plain = mapped ?? address.split("%")[0] ?? address;
  if (isIPv4(plain)) {
    if (plain.startsWith("127.")) return true;
    const value = ipv4(plain);
    return interfaces.some((i) => {
      if (i.family !== "IPv4") return false;
      const mask = ipv4(i.netmask);
      return (ipv4(i.address) & mask) === (value & mask);
    });
  }
  if (!isIPv6(plain)) return false;
  const bytes = ipv6(plain);
  if (bytes.every((b, i) => b === (i === 15 ? 1 : 0))) return true; // ::1
  if (bytes[0] === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80) return true; // fe80::/10
  return interfaces.some((i) => {
    if (i.family !== "IPv6") return false;
    const own = ipv6(i.address.split("%")[0] ?? i.address);
    const mask = ipv6(i.netmask);
    return mask.every((m, k) => ((own[k] ?? 0) & m) === ((bytes[k] ?? 0) & m));
  });
}

function ipv4(text: string): number {
  return text.split(".").reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}

/** The 16 bytes of an IPv6 address (`::` expanded; a trailing dotted quad read as IPv4). */
function ipv6(text: string): number[] {
  const [head = "", tail] = text.split("::");
  const groups = (part: string | undefined) =>
    part === undefined || part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (g.includes(".")) {
            const v = ipv4(g);
            return [v >>> 16, v & 0xffff];
          }
          return [Number.parseInt(g, 16)];
        });
  const front = groups(head);
  const back = groups(tail);
  const all =
    tail === undefined ? front : [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
  return all.flatMap((g) => [(g >> 8) & 0xff, g & 0xff]);
}
