/**
 * Email addresses are trimmed and lower-cased both when stored and when looked up, so that
 * `Owner@Example.test` and ` owner@example.test ` name one account.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function isValidEmail(email: string): boolean {
  return EMAIL_PATTERN.test(email) && email.length <= 320;
}
