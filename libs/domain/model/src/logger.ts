/** The logging interface libraries take (pino satisfies it). Never pass identifying values. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The wire protocol version spoken on NodeGateway.Attach. */
export const PROTOCOL_VERSION = 1;
/**
 * The oldest node protocol version a coordinator accepts: the compatibility window is
 * [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION], so a coordinator can be upgraded before its nodes.
 */
export const MIN_PROTOCOL_VERSION = 1;
/** This software's version string. */
export const SOFTWARE_VERSION = '0.1.0';
