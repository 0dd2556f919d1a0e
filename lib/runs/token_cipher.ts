import { concatBytes } from "../bytes.ts";

/**
 * The AES-256-GCM that seals format 2 state tokens (lib/runs/state_token.ts): `seal` gives `iv || ciphertext || tag`
 * (a random 12-byte IV, a 16-byte tag), `open` gives the plaintext back, or null when it does not authenticate.
 * Every implementation seals what the others open.
 *
 * The default, {@link webCryptoTokenCipher}, runs everywhere. A runtime may bring a cheaper one: under Deno each
 * WebCrypto call is handed to a thread pool and its answer back to the event loop, and on a busy 2-core VM those
 * hand-offs, not the cipher, were most of the token's cost (lib/adapters/deno/node_token_cipher.ts does the same
 * work synchronously through node:crypto).
 */
export interface TokenCipher {
  seal(plain: Uint8Array<ArrayBuffer>, additionalData: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
  open(
    sealed: Uint8Array<ArrayBuffer>,
    additionalData: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer> | null>;
}

/** Makes the cipher of one 32-byte key (derived from the server's secret). */
export type TokenCipherFactory = (key: Uint8Array<ArrayBuffer>) => TokenCipher;

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** AES-256-GCM through WebCrypto (`crypto.subtle`), on every runtime. */
export const webCryptoTokenCipher: TokenCipherFactory = (raw) => {
  const key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  key.catch(() => {}); // surfaced on first use
  return {
    async seal(plain, additionalData) {
      const iv = crypto.getRandomValues(new Uint8Array(GCM_IV_BYTES));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, await key, plain);
      return concatBytes(iv, new Uint8Array(sealed));
    },
    async open(sealed, additionalData) {
      if (sealed.length < GCM_IV_BYTES + GCM_TAG_BYTES) return null;
      const iv = sealed.subarray(0, GCM_IV_BYTES);
      try {
        return new Uint8Array(
          await crypto.subtle.decrypt(
            { name: "AES-GCM", iv, additionalData },
            await key,
            sealed.subarray(GCM_IV_BYTES),
          ),
        );
      } catch {
        return null;
      }
    },
  };
};
