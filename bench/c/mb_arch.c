/*
 * intel-ipsec-mb 1.3's code paths (managers initialised for SSE, AVX, AVX2, AVX-512) on the
 * synchronous burst functions the ESP backend uses for AES-128-CBC + HMAC-SHA1-96, one core,
 * library only, 64 jobs per burst: ns per job of the hash burst and of the cipher burst
 * (decrypt and encrypt), for cipher lengths 48, 496 and 1392 (64, 512 and 1400-byte frames).
 * The question it answers: would another path than the one init_mb_mgr_auto picks here
 * (AVX-512) be faster for some stage, e.g. SHA-NI (used by the SSE path) for HMAC-SHA1?
 * Rounds alternate the paths; medians of ROUNDS rounds.
 *
 *   gcc -O2 -o /tmp/mb_arch bench/c/mb_arch.c -lIPSec_MB && taskset -c 1 /tmp/mb_arch [ROUNDS]
 */
#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbc_burst.h"
#include "timing.h"

#define B CBC_BURST
#define NARCH 4
#define NSTAGE 3
#define MAXR 31

static const char *arch_names[NARCH] = {"sse", "avx", "avx2", "avx512"};
static const char *stage_names[NSTAGE] = {"hmac-sha1", "cbc-dec", "cbc-enc"};

/* ns per job of `bursts` bursts of one stage */
static double run(IMB_MGR *m, int stage, int len, int bursts)
{
	int lens[B];
	for (int i = 0; i < B; i++)
		lens[i] = len;
	cbc_burst_fill(24, lens);
	double t = now();
	for (int r = 0; r < bursts; r++) {
		cbc_burst_being_processed();
		if (stage == 0)
			IMB_SUBMIT_HASH_BURST_NOCHECK(m, cbc_jobs, B, IMB_AUTH_HMAC_SHA_1);
		else
			IMB_SUBMIT_CIPHER_BURST_NOCHECK(m, cbc_jobs, B, IMB_CIPHER_CBC,
							stage == 1 ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT,
							IMB_KEY_128_BYTES);
	}
	return (now() - t) / bursts / B * 1e9;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	if (rounds < 1 || rounds > MAXR)
		rounds = 7;
	IMB_MGR *m[NARCH];
	for (int a = 0; a < NARCH; a++)
		m[a] = alloc_mb_mgr(0);
	init_mb_mgr_sse(m[0]);
	init_mb_mgr_avx(m[1]);
	init_mb_mgr_avx2(m[2]);
	init_mb_mgr_avx512(m[3]);
	IMB_AES_KEYEXP_128(m[3], cbc_enc_keys, cbc_enc_keys, cbc_dec_keys);
	printf("SHA-NI in the SSE path: %s\n", (m[0]->features & IMB_FEATURE_SHANI) ? "yes" : "no");
	const int lens[3] = {48, 496, 1392};
	for (int l = 0; l < 3; l++) {
		int bursts = 300000 / (lens[l] + 64);
		for (int s = 0; s < NSTAGE; s++) {
			double t[NARCH][MAXR];
			for (int r = 0; r < rounds; r++)
				for (int a = 0; a < NARCH; a++)
					t[a][r] = run(m[a], s, lens[l], bursts);
			printf("len %4d %-9s ns/job:", lens[l], stage_names[s]);
			for (int a = 0; a < NARCH; a++) {
				qsort(t[a], rounds, sizeof(double), cmp_double);
				printf("  %s %7.1f", arch_names[a], t[a][rounds / 2]);
			}
			printf("\n");
		}
	}
	for (int a = 0; a < NARCH; a++)
		free_mb_mgr(m[a]);
	return 0;
}
