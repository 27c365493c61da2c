/**
 * True for host:port addresses on the loopback interface. Until TLS is configured (issue 7),
 * plaintext gRPC is only allowed there, on the coordinator's listening side and the node's dialling side.
 */
export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
