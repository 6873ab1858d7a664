/*
 * AES-128-GCM at one payload length, library only, one core: the library's ways into it on
 * the code path init_mb_mgr_auto picks (and on the AVX2 path, for reference), ns per packet
 * over a pool of 64 buffers:
 *   direct:  IMB_AES128_GCM_ENC / _DEC, one call per packet (what the ESP backend uses);
 *   ifu:     IMB_AES128_GCM_INIT, _ENC_UPDATE / _DEC_UPDATE, _ENC_FINALIZE / _DEC_FINALIZE;
 *   job:     the job queue (get_next, submit_nocheck, flushed once per 64 jobs);
 *   avx2:    direct, on a manager initialised for the AVX2 path.
 * Rounds alternate the variants; medians of ROUNDS rounds, and of the per-round ratios to
 * direct.
 *
 *   gcc -O2 -o /tmp/mb_gcm bench/c/mb_gcm.c -lIPSec_MB && /tmp/mb_gcm [LEN] [ROUNDS]
 */
#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcm_job.h"
#include "timing.h"

#define B 64
#define MAXR 63
#define NVAR 4

static uint8_t buf[B][2048] __attribute__((aligned(64)));
static uint8_t iv[B][12], aad[B][8], tag[B][16];
static struct gcm_key_data key __attribute__((aligned(64)));
static struct gcm_context_data ctx;
static const char *var_names[NVAR] = {"direct", "ifu", "job", "avx2"};

static void direct(IMB_MGR *m, int dec, int len)
{
	for (int i = 0; i < B; i++) {
		if (dec)
			IMB_AES128_GCM_DEC(m, &key, &ctx, buf[i], buf[i], len, iv[i], aad[i], 8, tag[i], 16);
		else
			IMB_AES128_GCM_ENC(m, &key, &ctx, buf[i], buf[i], len, iv[i], aad[i], 8, tag[i], 16);
	}
}

static void ifu(IMB_MGR *m, int dec, int len)
{
	for (int i = 0; i < B; i++) {
		IMB_AES128_GCM_INIT(m, &key, &ctx, iv[i], aad[i], 8);
		if (dec) {
			IMB_AES128_GCM_DEC_UPDATE(m, &key, &ctx, buf[i], buf[i], len);
			IMB_AES128_GCM_DEC_FINALIZE(m, &key, &ctx, tag[i], 16);
		} else {
			IMB_AES128_GCM_ENC_UPDATE(m, &key, &ctx, buf[i], buf[i], len);
			IMB_AES128_GCM_ENC_FINALIZE(m, &key, &ctx, tag[i], 16);
		}
	}
}

static void jobs(IMB_MGR *m, int dec, int len)
{
	for (int i = 0; i < B; i++) {
		gcm_job(IMB_GET_NEXT_JOB(m), buf[i], 0, len, dec, &key, iv[i], aad[i], tag[i]);
		(void)IMB_SUBMIT_JOB_NOCHECK(m);
		while (IMB_GET_COMPLETED_JOB(m))
			;
	}
	while (IMB_FLUSH_JOB(m))
		;
}

/* ns per packet of `bursts` bursts of variant v */
static double run(IMB_MGR *m, IMB_MGR *m2, int v, int dec, int len, int bursts)
{
	double t = now();
	for (int r = 0; r < bursts; r++) {
		switch (v) {
		case 0: direct(m, dec, len); break;
		case 1: ifu(m, dec, len); break;
		case 2: jobs(m, dec, len); break;
		default: direct(m2, dec, len); break;
		}
	}
	return (now() - t) / bursts / B * 1e9;
}

int main(int argc, char **argv)
{
	int len = argc > 1 ? atoi(argv[1]) : 1376;
	int rounds = argc > 2 ? atoi(argv[2]) : 15;
	if (len < 1 || len > 2000)
		len = 1376;
	if (rounds < 1 || rounds > MAXR)
		rounds = 15;
	IMB_MGR *m = alloc_mb_mgr(0), *m2 = alloc_mb_mgr(0);
	init_mb_mgr_auto(m, NULL);
	init_mb_mgr_avx2(m2);
	uint8_t k[16] = {1, 2, 3};
	IMB_AES128_GCM_PRE(m, k, &key);
	int bursts = 1000000 / (len + 64);
	for (int dec = 0; dec < 2; dec++) {
		double t[NVAR][MAXR], ratio[NVAR][MAXR];
		for (int r = 0; r < rounds; r++)
			for (int v = 0; v < NVAR; v++) {
				t[v][r] = run(m, m2, v, dec, len, bursts);
				ratio[v][r] = t[v][r] / t[0][r];
			}
		printf("len %d %s ns/packet:", len, dec ? "decrypt" : "encrypt");
		for (int v = 0; v < NVAR; v++) {
			qsort(t[v], rounds, sizeof(double), cmp_double);
			qsort(ratio[v], rounds, sizeof(double), cmp_double);
			printf("  %s %.1f (%.3f)", var_names[v], t[v][rounds / 2], ratio[v][rounds / 2]);
		}
		printf("\n");
	}
	free_mb_mgr(m);
	free_mb_mgr(m2);
	return 0;
}
