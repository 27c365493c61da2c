export {
  applyDisclosureControl,
  MAX_TABLE_CELLS,
  type DisclosureInput,
  type DisclosureOutput,
} from './disclosure-control';
export { validateSdcPolicy } from './sdc-policy';
