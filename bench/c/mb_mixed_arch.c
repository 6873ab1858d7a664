/*
 * Would a second manager on the SSE code path speed up AES-CBC encryption of short packets?
 * bench/c/mb_arch.c found the SSE path's cipher burst faster than the AVX-512 one for short
 * jobs (cipher lengths up to about 128 bytes), the AVX-512 hash burst much faster at every
 * length. This runs what the ESP backend would do with it, library only, one core: per burst
 * of 64 encrypt jobs (AES-128-CBC + HMAC-SHA1-96), the cipher burst, then the hash burst on the
 * AVX-512 manager; the cipher burst on the AVX-512 manager (as now), on the SSE one, or split
 * (jobs sorted longest first: those of 150 bytes or more on AVX-512, the rest on SSE).
 * Medians of ROUNDS alternated rounds, ns per job.
 *
 *   gcc -O2 -o /tmp/mb_mixed_arch bench/c/mb_mixed_arch.c -lIPSec_MB
 *   taskset -c 1 /tmp/mb_mixed_arch 64; taskset -c 1 /tmp/mb_mixed_arch imix
 *   (the argument: a cipher length in bytes, or `imix`: 64, 576 and 1488 bytes, 7:4:1)
 */
#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbc_burst.h"
#include "timing.h"

#define B CBC_BURST
#define ROUNDS 9
#define SPLIT_AT 150

static int lens[B];

/* jobs [0, k) ciphered on `big`, [k, B) on `small`; all hashed on `big` */
static double run(IMB_MGR *big, IMB_MGR *small, int k, int bursts)
{
	double t = now();
	for (int r = 0; r < bursts; r++) {
		cbc_burst_being_processed();
		if (k > 0)
			IMB_SUBMIT_CIPHER_BURST_NOCHECK(big, cbc_jobs, k, IMB_CIPHER_CBC, IMB_DIR_ENCRYPT,
							IMB_KEY_128_BYTES);
		if (k < B)
			IMB_SUBMIT_CIPHER_BURST_NOCHECK(small, cbc_jobs + k, B - k, IMB_CIPHER_CBC,
							IMB_DIR_ENCRYPT, IMB_KEY_128_BYTES);
		cbc_burst_being_processed();
		IMB_SUBMIT_HASH_BURST_NOCHECK(big, cbc_jobs, B, IMB_AUTH_HMAC_SHA_1);
	}
	return (now() - t) / bursts / B * 1e9;
}

int main(int argc, char **argv)
{
	const char *mix = argc > 1 ? argv[1] : "64";
	if (!strcmp(mix, "imix")) {
		for (int i = 0; i < B; i++)
			lens[i] = i % 12 < 7 ? 64 : i % 12 < 11 ? 576 : 1488;
	} else {
		int len = atoi(mix);
		if (len < 16 || len > 1920 || len % 16) {
			fprintf(stderr, "cipher length: a multiple of 16 from 16 to 1920, or imix\n");
			return 2;
		}
		for (int i = 0; i < B; i++)
			lens[i] = len;
	}
	/* longest first, as the backend submits them */
	for (int i = 0; i < B; i++)
		for (int j = i + 1; j < B; j++)
			if (lens[j] > lens[i]) {
				int x = lens[i];
				lens[i] = lens[j];
				lens[j] = x;
			}
	int k = 0;
	while (k < B && lens[k] >= SPLIT_AT)
		k++;
	IMB_MGR *big = alloc_mb_mgr(0), *small = alloc_mb_mgr(0);
	init_mb_mgr_avx512(big);
	init_mb_mgr_sse(small);
	IMB_AES_KEYEXP_128(big, cbc_enc_keys, cbc_enc_keys, cbc_dec_keys);
	cbc_burst_fill(8, lens);
	int bursts = 2000000 / (lens[0] + lens[B - 1] + 128);
	double t[3][ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		t[0][r] = run(big, small, B, bursts);
		t[1][r] = run(big, small, 0, bursts);
		t[2][r] = run(big, small, k, bursts);
	}
	for (int a = 0; a < 3; a++)
		qsort(t[a], ROUNDS, sizeof(double), cmp_double);
	printf("%s: ns per job, cipher then hash (AVX-512): cipher on AVX-512 %.1f, on SSE %.1f, "
	       "split (%d jobs on AVX-512) %.1f\n",
	       mix, t[0][ROUNDS / 2], t[1][ROUNDS / 2], k, t[2][ROUNDS / 2]);
	free_mb_mgr(big);
	free_mb_mgr(small);
	return 0;
}
