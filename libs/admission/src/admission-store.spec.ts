/** Session ids (AdmissionStore's arrivals): drawn from a pooled CSPRNG draw, each one fresh and of one shape. */
import { newSessionId } from './admission-store';

describe('newSessionId', () => {
  it('gives distinct ids of 16 base64url characters (96 bits) after an "s", across several pool draws', () => {
    const ids = Array.from({ length: 2000 }, () => newSessionId());
    for (const id of ids) expect(id).toMatch(/^s[A-Za-z0-9_-]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
