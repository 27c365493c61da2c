export {
  applyDisclosureControl,
  MAX_TABLE_CELLS,
  type DisclosureInput,
  type DisclosureOutput,
  type RoundingDraw,
} from './disclosure-control';
export { validateSdcPolicy } from './sdc-policy';
