import { createCipheriv, createDecipheriv } from "node:crypto";
import { concatBytes } from "../../bytes.ts";
import { GCM_IV_BYTES, GCM_TAG_BYTES, type TokenCipherFactory } from "../../runs/token_cipher.ts";

/**
 * AES-256-GCM for state tokens through node:crypto, which Deno runs synchronously on the calling thread: the same
 * bytes as the WebCrypto default (lib/runs/token_cipher.ts) without a thread-pool round trip per call. Two
 * functions/deno.ts side by side on a loaded 2-core VM (25 stateless clients each, 6 rounds, both start orders):
 * the one using it had 4-8% less CPU per step in every round and served up to 24% more steps per second (ahead in
 * 5 rounds, equal in one). Pass it as `stateTokenCipher`.
 */
export const nodeTokenCipher: TokenCipherFactory = (key) => ({
  seal(plain, additionalData) {
    const iv = crypto.getRandomValues(new Uint8Array(GCM_IV_BYTES));
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(additionalData);
    const body = cipher.update(plain);
    const last = cipher.final();
    return Promise.resolve(concatBytes(iv, body, last, cipher.getAuthTag()));
  },
  open(sealed, additionalData) {
    if (sealed.length < GCM_IV_BYTES + GCM_TAG_BYTES) return Promise.resolve(null);
    try {
      // authTagLength: node:crypto would otherwise accept a truncated tag.
      const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, GCM_IV_BYTES), {
        authTagLength: GCM_TAG_BYTES,
      });
      decipher.setAAD(additionalData);
      decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
      const body = decipher.update(sealed.subarray(GCM_IV_BYTES, sealed.length - GCM_TAG_BYTES));
      return Promise.resolve(concatBytes(body, decipher.final()));
    } catch {
      return Promise.resolve(null);
    }
  },
});
