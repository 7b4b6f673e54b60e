// Public surface of the MAC value type.
export {
  BROADCAST_MAC,
  MAC_ADDRESS_MAX,
  MASQUERADE_BRIDGE_MAC,
  MASQUERADE_BRIDGE_MAC_NUMBER,
  MacError,
  ZERO_MAC,
  formatMac,
  isLocallyAdministered,
  isMulticast,
  kubevirtMacOctets,
  macToNumber,
  numberToMac,
  parseMac,
  validateMac,
} from './mac.ts';
export type { MacErrorCode, MacNotation, ValidateMacOptions } from './mac.ts';
