/** Where a conversion is used, for error messages: `mapping.column`. */
export interface ConversionSite {
  readonly mapping: string;
  readonly column: string;
}
