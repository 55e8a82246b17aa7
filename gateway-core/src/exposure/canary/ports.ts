/**
 * The TCP ports botnet scanners try, with where each comes from. A LAN device
 * that opens any of these on the canary (an address that offers nothing) is
 * scanning; the conntrack detector counts the same ports.
 */
export interface ScannerPort {
  port: number;
  /** Why scanners try it, and the public source that documents it. */
  source: string;
}

export const SCANNER_PORTS: readonly ScannerPort[] = [
  // Mirai's published source (2016), bot/scanner.c: every SYN goes to 23, one in ten to 2323 instead.
  { port: 23, source: 'telnet; Mirai source, bot/scanner.c (9 in 10 probes)' },
  { port: 2323, source: 'alternate telnet; Mirai source, bot/scanner.c (1 in 10 probes)' },
  // Descendants brute-force SSH with the same credential lists (e.g. the Mirai-derived "Mukashi", Hajime's ssh module).
  { port: 22, source: 'SSH credential brute force by Mirai descendants' },
  // ADB.Miner and Mirai variants (2018) spread through Android Debug Bridge left open on TV boxes and cameras.
  { port: 5555, source: 'Android Debug Bridge; ADB.Miner and Mirai variants (2018)' },
  // The November 2016 Deutsche Telekom outage: a Mirai variant exploiting TR-064 on the TR-069 management port.
  { port: 7547, source: 'TR-069/TR-064 CWMP; Mirai variant of the Deutsche Telekom outage (Nov 2016)' },
  // CVE-2017-17215 (Huawei HG532 UPnP), used by Satori/Okiru and Masuta.
  { port: 37215, source: 'Huawei HG532 CVE-2017-17215; Satori/Okiru' },
  // CVE-2014-8361 (Realtek SDK miniigd UPnP SOAP), used by Satori and later Mirai variants.
  { port: 52869, source: 'Realtek SDK miniigd CVE-2014-8361; Satori' },
];

/** The canary's default ports (all of SCANNER_PORTS). */
export const DEFAULT_CANARY_PORTS: readonly number[] = SCANNER_PORTS.map((p) => p.port);

/** Telnet ports: any connection to them from a camera to a public address is a flag on its own. */
export const TELNET_PORTS: readonly number[] = [23, 2323];
