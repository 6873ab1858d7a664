/* The AES-128-GCM job of the library-only benchmarks of bench/c. */
#ifndef BENCH_C_GCM_JOB_H
#define BENCH_C_GCM_JOB_H
#include "job_fields.h"

/* A job on `buf`: `len` bytes after `head` ciphered in place and authenticated, an 8-byte
 * AAD, a 12-byte IV, the 16-byte tag into `tag`; decryption if `dec`. Sets every field the
 * job uses, nothing else. */
static inline void gcm_job(IMB_JOB *j, uint8_t *buf, int head, int len, int dec,
			   const struct gcm_key_data *key, const uint8_t *iv, const uint8_t *aad,
			   uint8_t *tag)
{
	job_fields(j, buf, head, len, dec, key, key, iv, 12, tag, 16);
	j->cipher_mode = IMB_CIPHER_GCM;
	j->hash_alg = IMB_AUTH_AES_GMAC;
	j->hash_start_src_offset_in_bytes = head;
	j->msg_len_to_hash_in_bytes = len;
	j->u.GCM.aad = aad;
	j->u.GCM.aad_len_in_bytes = 8;
}
#endif
