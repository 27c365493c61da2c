import { describe, expect, it } from 'vitest';
import { mayListNodes } from './grpc-server';

describe('who may read the node list', () => {
  it('answers callers on the coordinator host, over IPv4, IPv6 and IPv4-mapped IPv6', () => {
    expect(mayListNodes('ipv4:127.0.0.1:53124', {})).toBe(true);
    expect(mayListNodes('ipv6:[::1]:53124', {})).toBe(true);
    expect(mayListNodes('ipv6:[::ffff:127.0.0.1]:53124', {})).toBe(true);
  });

  it('answers a remote caller only with a client certificate the server verified (mutual TLS)', () => {
    expect(mayListNodes('ipv4:10.1.2.3:53124', {})).toBe(false);
    expect(mayListNodes('ipv4:10.1.2.3:53124', undefined)).toBe(false);
    expect(mayListNodes('ipv6:[2001:db8::7]:53124', { sslPeerCertificate: {} })).toBe(false);
    expect(mayListNodes('ipv4:10.1.2.3:53124', { sslPeerCertificate: { subject: { CN: 'operator' } } })).toBe(true);
    expect(mayListNodes('ipv6:[::ffff:10.1.2.3]:53124', {})).toBe(false);
  });
});
