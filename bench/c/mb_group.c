/*
 * AES-128-CBC + HMAC-SHA1-96 at one length, 64 jobs per burst, library only, one core: the
 * synchronous cipher and hash bursts over the whole burst (cipher 64, then hash 64; the other
 * way round to decrypt) against the same in groups of 16, the lanes' width (cipher 16, hash
 * 16, four times), so that a group's data is still in L1 when the second stage reads it.
 * Rounds alternate the two; medians of ROUNDS rounds of ns per job, and of the per-round
 * ratios grouped / whole. GROUP (16 unless given: 16 or 32) sets the group's size.
 *
 *   gcc -O2 -o /tmp/mb_group bench/c/mb_group.c -lIPSec_MB && /tmp/mb_group [LEN] [ROUNDS] [GROUP]
 */
#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbc_burst.h"
#include "timing.h"

#define B CBC_BURST
#define MAXR 63

static void stage(IMB_MGR *m, int hash, int dec, int from, int n)
{
	if (hash)
		IMB_SUBMIT_HASH_BURST_NOCHECK(m, cbc_jobs + from, n, IMB_AUTH_HMAC_SHA_1);
	else
		IMB_SUBMIT_CIPHER_BURST_NOCHECK(m, cbc_jobs + from, n, IMB_CIPHER_CBC,
						dec ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT,
						IMB_KEY_128_BYTES);
}

/* ns per job of `bursts` bursts, in groups of `group` jobs */
static double run(IMB_MGR *m, int dec, int group, int bursts)
{
	double t = now();
	for (int r = 0; r < bursts; r++) {
		cbc_burst_being_processed();
		for (int g = 0; g < B; g += group) {
			/* encrypt-then-MAC: cipher first to seal, hash first to open */
			stage(m, dec, dec, g, group);
			stage(m, !dec, dec, g, group);
		}
	}
	return (now() - t) / bursts / B * 1e9;
}

int main(int argc, char **argv)
{
	int len = argc > 1 ? atoi(argv[1]) : 1392;
	int rounds = argc > 2 ? atoi(argv[2]) : 15;
	int group = argc > 3 ? atoi(argv[3]) : 16;
	if (group != 16 && group != 32)
		group = 16;
	if (len < 16 || len > 2000 || len % 16)
		len = 1392;
	if (rounds < 1 || rounds > MAXR)
		rounds = 15;
	IMB_MGR *m = alloc_mb_mgr(0);
	init_mb_mgr_auto(m, NULL);
	IMB_AES_KEYEXP_128(m, cbc_enc_keys, cbc_enc_keys, cbc_dec_keys);
	int lens[B];
	for (int i = 0; i < B; i++)
		lens[i] = len;
	int bursts = 2000000 / (len + 64);
	for (int dec = 0; dec < 2; dec++) {
		cbc_burst_fill(24, lens);
		for (int i = 0; i < B; i++) {
			cbc_jobs[i].cipher_direction = dec ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT;
			cbc_jobs[i].chain_order = dec ? IMB_ORDER_HASH_CIPHER : IMB_ORDER_CIPHER_HASH;
		}
		double whole[MAXR], grouped[MAXR], ratio[MAXR];
		for (int r = 0; r < rounds; r++) {
			whole[r] = run(m, dec, B, bursts);
			grouped[r] = run(m, dec, group, bursts);
			ratio[r] = grouped[r] / whole[r];
		}
		qsort(whole, rounds, sizeof(double), cmp_double);
		qsort(grouped, rounds, sizeof(double), cmp_double);
		qsort(ratio, rounds, sizeof(double), cmp_double);
		printf("len %d %s: whole %.1f ns/job, groups of %d %.1f, ratio %.3f [%.3f-%.3f]\n", len,
		       dec ? "decrypt" : "encrypt", whole[rounds / 2], group, grouped[rounds / 2],
		       ratio[rounds / 2], ratio[0], ratio[rounds - 1]);
	}
	free_mb_mgr(m);
	return 0;
}
