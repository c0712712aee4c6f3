// A key and the forms an echo gives it (issue 18's list), and a check that none of them is in a text.

export const ALTERED_KEY = "sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv";

/** The key without its prefix, in other cases, URL-encoded, base64, split by a zero-width space, masked at its end. */
export const ALTERED_FORMS: readonly string[] = [
  ALTERED_KEY,
  ALTERED_KEY.slice(3),
  ALTERED_KEY.toUpperCase(),
  ALTERED_KEY.toLowerCase(),
  encodeURIComponent(`key=${ALTERED_KEY}`).replace(/-/g, "%2D"),
  btoa(ALTERED_KEY),
  `${ALTERED_KEY.slice(0, 10)}\u200b${ALTERED_KEY.slice(10)}`,
  `${ALTERED_KEY.slice(0, -4)}****`,
];

/** Whether `text` holds 8 or more characters of the key in a row, in any of the forms above. */
export function leaksKey(text: string): boolean {
  let plain = text;
  try {
    plain = decodeURIComponent(text.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"));
  } catch {
    // Not URL-encoded text: checked as it is.
  }
  const lower = plain.replace(/[\u200b-\u200d\u2060\ufeff]/g, "").toLowerCase();
  const core = ALTERED_KEY.slice(3).toLowerCase();
  for (let i = 0; i + 8 <= core.length; i++) if (lower.includes(core.slice(i, i + 8))) return true;
  return text.includes(btoa(ALTERED_KEY).slice(0, 12));
}
