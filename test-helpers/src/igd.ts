/**
 * A small UPnP Internet Gateway Device for tests: answers SSDP M-SEARCH on a
 * unicast UDP socket (UPnP Device Architecture 1.1 §1.3.3), serves a device
 * description, and answers GetGenericPortMappingEntry over SOAP with error
 * 713 past the last entry (IGD WANIPConnection:2 §2.5.18). Binds to
 * 127.0.0.1 by default; the netns end-to-end test passes its router address.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import type net from 'node:net';

export interface IgdMapping {
  remoteHost?: string;
  externalPort: number;
  protocol: 'TCP' | 'UDP';
  internalPort: number;
  internalClient: string;
  enabled?: boolean;
  description?: string;
  leaseDuration?: number;
}

export interface IgdResponderOptions {
  /** Address to bind both sockets to. */
  host?: string;
  mappings?: IgdMapping[];
  /** `WANIPConnection:1` (default), `WANIPConnection:2` or `WANPPPConnection:1`. */
  service?: string;
  /** Override the LOCATION header (to test that a foreign LOCATION is ignored). */
  location?: (httpPort: number) => string;
}

export interface IgdResponder {
  /** UDP port answering M-SEARCH. */
  ssdpPort: number;
  httpPort: number;
  host: string;
  /** M-SEARCH requests received. */
  searches: string[];
  /** SOAP actions received, e.g. `GetGenericPortMappingEntry(0)`. */
  soapCalls: string[];
  close(): Promise<void>;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startIgdResponder(o: IgdResponderOptions = {}): Promise<IgdResponder> {
  const host = o.host ?? '127.0.0.1';
  const serviceType = `urn:schemas-upnp-org:service:${o.service ?? 'WANIPConnection:1'}`;
  const mappings = o.mappings ?? [];
  const searches: string[] = [];
  const soapCalls: string[] = [];
  const description = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><friendlyName>Test Router</friendlyName>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/l3f</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>${serviceType}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL><SCPDURL>/scpd.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>`;

  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/desc.xml') {
        res.writeHead(200, { 'Content-Type': 'text/xml' });
        res.end(description);
        return;
      }
      if (req.method === 'POST' && req.url === '/ctl/IPConn') {
        const action = /#(\w+)"?$/.exec(String(req.headers.soapaction ?? ''))?.[1] ?? '';
        const index = Number(/<NewPortMappingIndex>(\d+)<\/NewPortMappingIndex>/.exec(body)?.[1] ?? -1);
        soapCalls.push(`${action}(${index})`);
        const m = mappings[index];
        res.setHeader('Content-Type', 'text/xml; charset="utf-8"');
        const env = (inner: string): string =>
          `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>${inner}</s:Body></s:Envelope>`;
        if (action !== 'GetGenericPortMappingEntry' || !m) {
          res.statusCode = 500;
          res.end(
            env(
              '<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>' +
                '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>713</errorCode>' +
                '<errorDescription>SpecifiedArrayIndexInvalid</errorDescription></UPnPError></detail></s:Fault>',
            ),
          );
          return;
        }
        res.end(
          env(
            `<u:GetGenericPortMappingEntryResponse xmlns:u="${serviceType}">` +
              `<NewRemoteHost>${esc(m.remoteHost ?? '')}</NewRemoteHost><NewExternalPort>${m.externalPort}</NewExternalPort>` +
              `<NewProtocol>${m.protocol}</NewProtocol><NewInternalPort>${m.internalPort}</NewInternalPort>` +
              `<NewInternalClient>${esc(m.internalClient)}</NewInternalClient><NewEnabled>${m.enabled === false ? 0 : 1}</NewEnabled>` +
              `<NewPortMappingDescription>${esc(m.description ?? '')}</NewPortMappingDescription>` +
              `<NewLeaseDuration>${m.leaseDuration ?? 0}</NewLeaseDuration></u:GetGenericPortMappingEntryResponse>`,
          ),
        );
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const httpPort = (server.address() as net.AddressInfo).port;

  const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    const text = msg.toString('latin1');
    if (!text.startsWith('M-SEARCH * HTTP/1.1')) return;
    searches.push(text);
    const st = /^ST:\s*(.+?)\s*$/im.exec(text)?.[1] ?? '';
    if (!/InternetGatewayDevice:1|ssdp:all|upnp:rootdevice/.test(st)) return;
    const authority = host.includes(':') ? `[${host}]:${httpPort}` : `${host}:${httpPort}`;
    const location = o.location ? o.location(httpPort) : `http://${authority}/desc.xml`;
    udp.send(
      `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nEXT:\r\nLOCATION: ${location}\r\nSERVER: Linux/5.4 UPnP/1.1 TestIGD/1.0\r\n` +
        `ST: ${st}\r\nUSN: uuid:00000000-0000-0000-0000-000000000001::${st}\r\n\r\n`,
      rinfo.port,
      rinfo.address,
    );
  });
  await new Promise<void>((r) => udp.bind(0, host, () => r()));
  const ssdpPort = udp.address().port;

  let closed: Promise<void> | undefined;
  return {
    ssdpPort,
    httpPort,
    host,
    searches,
    soapCalls,
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((r) => udp.close(() => r()));
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      })()),
  };
}
