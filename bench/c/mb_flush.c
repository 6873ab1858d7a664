/*
 * What flushing the multi-buffer lanes every burst costs, against never flushing (carrying
 * unfinished jobs over to the next burst, as DPDK's aesni_mb PMD does under load): AES-128-CBC
 * + HMAC-SHA1-96 jobs straight on intel-ipsec-mb, no Rust and no packet I/O.
 *
 *   gcc -O2 -o /tmp/mb_flush bench/c/mb_flush.c -lIPSec_MB
 *   /tmp/mb_flush PER_FLUSH DIR [LEN]
 *     PER_FLUSH: jobs between two flushes (0: flush only at the end)
 *     DIR: enc | dec     LEN: one ESP length for every job (default: the bench's IMIX
 *     order, 64/570/1400-byte frames 7:4:1 as `trafgen --size imix` writes them)
 * Prints ns per job over 2,000,000 jobs.
 */
#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

#define JOBS 2000000L
#define BUFS 64
#define HEAD 24 /* ESP header and IV */
#define ICV 12

/* ESP lengths (header, IV, padded ciphertext, ICV) of the IMIX pcap's frames, in its order. */
static const int imix[12] = {100, 596, 100, 1428, 100, 596, 100, 596, 100, 100, 596, 100};

static long drain(IMB_JOB *job, IMB_MGR *m)
{
	long n = 0;
	while (job) {
		if (job->status != IMB_STATUS_COMPLETED) {
			fprintf(stderr, "job failed: %d\n", job->status);
			exit(1);
		}
		n++;
		job = IMB_GET_COMPLETED_JOB(m);
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s PER_FLUSH enc|dec [LEN]\n", argv[0]);
		return 2;
	}
	long per_flush = atol(argv[1]);
	int enc = strcmp(argv[2], "enc") == 0;
	int fixed = argc > 3 ? atoi(argv[3]) : 0;
	if (fixed && (fixed < HEAD + 16 + ICV || (fixed - HEAD - ICV) % 16)) {
		fprintf(stderr, "LEN: 24 + a multiple of 16 + 12\n");
		return 2;
	}
	IMB_MGR *m = alloc_mb_mgr(0);
	IMB_ARCH arch;
	init_mb_mgr_auto(m, &arch);
	DECLARE_ALIGNED(uint32_t ekeys[15 * 4], 16);
	DECLARE_ALIGNED(uint32_t dkeys[15 * 4], 16);
	uint8_t key[16] = {1}, hkey[64] = {2}, ipad[64], opad[64], ipad_h[20], opad_h[20];
	IMB_AES_KEYEXP_128(m, key, ekeys, dkeys);
	for (int i = 0; i < 64; i++) {
		ipad[i] = hkey[i] ^ 0x36;
		opad[i] = hkey[i] ^ 0x5c;
	}
	IMB_SHA1_ONE_BLOCK(m, ipad, ipad_h);
	IMB_SHA1_ONE_BLOCK(m, opad, opad_h);
	uint8_t *bufs[BUFS], tags[BUFS][ICV], iv[16] = {3};
	for (int i = 0; i < BUFS; i++) {
		bufs[i] = aligned_alloc(64, 2048);
		memset(bufs[i], i, 2048);
	}
	long done = 0;
	double t0 = now();
	for (long sub = 0; sub < JOBS; sub++) {
		int len = fixed ? fixed : imix[sub % 12];
		int b = sub % BUFS;
		IMB_JOB *job = IMB_GET_NEXT_JOB(m);
		job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
		job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
		job->cipher_mode = IMB_CIPHER_CBC;
		job->enc_keys = ekeys;
		job->dec_keys = dkeys;
		job->key_len_in_bytes = 16;
		job->src = bufs[b];
		job->dst = bufs[b] + HEAD;
		job->cipher_start_src_offset_in_bytes = HEAD;
		job->msg_len_to_cipher_in_bytes = len - HEAD - ICV;
		job->iv = iv;
		job->iv_len_in_bytes = 16;
		job->hash_alg = IMB_AUTH_HMAC_SHA_1;
		job->hash_start_src_offset_in_bytes = 0;
		job->msg_len_to_hash_in_bytes = len - ICV;
		job->u.HMAC._hashed_auth_key_xor_ipad = ipad_h;
		job->u.HMAC._hashed_auth_key_xor_opad = opad_h;
		job->auth_tag_output = tags[b];
		job->auth_tag_output_len_in_bytes = ICV;
		done += drain(IMB_SUBMIT_JOB_NOCHECK(m), m);
		if (per_flush > 0 && (sub + 1) % per_flush == 0) {
			IMB_JOB *j;
			while ((j = IMB_FLUSH_JOB(m)))
				done++;
		}
	}
	IMB_JOB *j;
	while ((j = IMB_FLUSH_JOB(m)))
		done++;
	double t = now() - t0;
	printf("arch %d, %s, %s lengths, flush every %ld jobs: %.1f ns/job (%ld jobs)\n", arch,
	       enc ? "encrypt" : "decrypt", fixed ? "fixed" : "IMIX", per_flush, t * 1e9 / done, done);
	free_mb_mgr(m);
	return 0;
}
