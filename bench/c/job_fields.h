/* What the cipher jobs of the library-only benchmarks of bench/c have in common. */
#ifndef BENCH_C_JOB_FIELDS_H
#define BENCH_C_JOB_FIELDS_H
#include <intel-ipsec-mb.h>

/* A job on `buf` with a 128-bit key: `head` bytes then `len` bytes ciphered in place, the
 * tag into `tag`; decryption (hash, then cipher) if `dec`. The mode, the hash and what
 * it covers are the caller's. */
static inline void job_fields(IMB_JOB *j, uint8_t *buf, int head, int len, int dec,
			      const void *enc_keys, const void *dec_keys, const uint8_t *iv,
			      int iv_len, uint8_t *tag, int tag_len)
{
	j->cipher_direction = dec ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT;
	j->chain_order = dec ? IMB_ORDER_HASH_CIPHER : IMB_ORDER_CIPHER_HASH;
	j->enc_keys = enc_keys;
	j->dec_keys = dec_keys;
	j->key_len_in_bytes = 16;
	j->src = buf;
	j->dst = buf + head;
	j->cipher_start_src_offset_in_bytes = head;
	j->msg_len_to_cipher_in_bytes = len;
	j->iv = iv;
	j->iv_len_in_bytes = iv_len;
	j->auth_tag_output = tag;
	j->auth_tag_output_len_in_bytes = tag_len;
}
#endif
