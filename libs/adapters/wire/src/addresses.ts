/**
 * True for host:port addresses on the loopback interface: the only addresses where plaintext gRPC
 * is allowed, on the listening side and the dialling side (DESIGN.md §3; elsewhere TLS is required).
 */
export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
