import { html } from 'lit-html';
import type { SavedAddress } from './types.ts';

export const COUNTRIES = [
  ['DE', 'Germany'],
  ['FR', 'France'],
  ['GB', 'United Kingdom'],
  ['NL', 'Netherlands'],
  ['US', 'United States'],
] as const;

/** The countries the storefront ships to, as a select's options. */
export const countryOptions = (selected: string) =>
  COUNTRIES.map(
    ([code, name]) => html`<option value=${code} ?selected=${code === selected}>${name}</option>`,
  );

export const countryName = (code: string) => COUNTRIES.find(([candidate]) => candidate === code)?.[1] ?? code;

/** One saved address on one line, as the account page and checkout show it. */
export const addressLine = (address: SavedAddress) =>
  [
    address.name,
    address.line1,
    address.line2,
    `${address.postalCode} ${address.city}`,
    countryName(address.country),
  ]
    .filter(Boolean)
    .join(', ');
