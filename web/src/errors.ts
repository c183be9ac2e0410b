import { ApiError } from './api.ts';

/** The schema's words for a field's problem, as a person would say them. */
const FIELD_PHRASES: Array<[RegExp, (match: RegExpMatchArray) => string]> = [
  [/^must be <= (\S+)$/, (match) => `can be at most ${match[1]}`],
  [/^must be < (\S+)$/, (match) => `must be less than ${match[1]}`],
  [/^must be >= (\S+)$/, (match) => `must be at least ${match[1]}`],
  [/^must be > (\S+)$/, (match) => `must be more than ${match[1]}`],
  [/^must NOT have more than (\d+) characters$/, (match) => `can be at most ${match[1]} characters long`],
  [/^must NOT have fewer than (\d+) characters$/, (match) => `needs at least ${match[1]} characters`],
  [/^must NOT have more than (\d+) items$/, (match) => `can have at most ${match[1]} entries`],
  [/^must match format "(\w+)"$/, (match) => `must be a valid ${match[1]}`],
  [/^must match pattern/, () => 'is not in the expected form'],
  [/^must be (integer|number)$/, () => 'must be a whole number'],
  [/^must have required property/, () => 'is required'],
  [/^is not a known field$/, () => 'is not something this form can change'],
];

/** "/variants/0/price/amount" → "Price amount": the field's last names, in words. */
function fieldName(path: string): string {
  const names = path
    .split('/')
    .filter((part) => part && !/^\d+$/.test(part) && part !== 'body' && part !== 'headers')
    .slice(-2);
  const words = names
    .join(' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return words ? words[0].toUpperCase() + words.slice(1) : 'A value';
}

function fieldSentence(field: { path: string; message: string }): string {
  for (const [pattern, phrase] of FIELD_PHRASES) {
    const match = field.message.match(pattern);
    if (match) return `${fieldName(field.path)} ${phrase(match)}.`;
  }
  return `${fieldName(field.path)} is not valid.`;
}

/** What went wrong, in sentences: the API's detail, or for invalid fields one sentence each. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.problem.errors;
    return fields?.length ? [...new Set(fields.map(fieldSentence))].join(' ') : error.message;
  }
  return (error as Error).message ?? String(error);
}
