/* The AES-128-CBC + HMAC-SHA1-96 job of the library-only benchmarks of bench/c. */
#ifndef BENCH_C_CBC_JOB_H
#define BENCH_C_CBC_JOB_H
#include "job_fields.h"

/* A job on `buf`: `head` bytes before the `len` bytes ciphered in place, all of it hashed (as
 * ESP: SPI, sequence number and IV, then the ciphertext), the 12-byte tag into `tag`;
 * decryption (hash, then cipher) if `dec`. Sets every field the job uses, nothing else. */
static inline void cbc_sha1_job(IMB_JOB *j, uint8_t *buf, int head, int len, int dec,
				const void *enc_keys, const void *dec_keys, const uint8_t *iv,
				const void *ipad, const void *opad, uint8_t *tag)
{
	job_fields(j, buf, head, len, dec, enc_keys, dec_keys, iv, 16, tag, 12);
	j->cipher_mode = IMB_CIPHER_CBC;
	j->hash_alg = IMB_AUTH_HMAC_SHA_1;
	j->hash_start_src_offset_in_bytes = 0;
	j->msg_len_to_hash_in_bytes = len + head;
	j->u.HMAC._hashed_auth_key_xor_ipad = ipad;
	j->u.HMAC._hashed_auth_key_xor_opad = opad;
}
#endif
