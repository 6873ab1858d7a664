/*
 * The three ways into intel-ipsec-mb 1.3 that the ESP backend chooses between, timed against
 * each other on one core, library only (no Rust, no packet I/O), 64 jobs per burst:
 *   gcm:  AES-128-GCM through the job queue (get_next/submit_nocheck/flush) against the direct
 *         function IMB_AES128_GCM_ENC / _DEC (one call per packet, no queue);
 *   cbc:  AES-128-CBC + HMAC-SHA1-96 through the job queue, in arrival order, against the
 *         synchronous burst functions IMB_SUBMIT_CIPHER_BURST_NOCHECK and
 *         IMB_SUBMIT_HASH_BURST_NOCHECK, in arrival order and longest first; and, for
 *         reference, the job queue never flushed (what DPDK's aesni_mb PMD gets under load).
 * Rounds alternate the variants; the medians of the per-round ratios to the job queue are
 * printed, per payload length (64, 512, 1400 and the bench's IMIX order).
 *
 *   gcc -O2 -o /tmp/mb_paths bench/c/mb_paths.c -lIPSec_MB && /tmp/mb_paths [ROUNDS]
 */
#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbc_job.h"
#include "gcm_job.h"
#include "timing.h"

#define B 64
#define HEAD 24 /* ESP header and IV */
#define BURSTS 1500
#define NLEN 4
#define NVAR 5

/* Cipher lengths of the IMIX pcap's frames (64/570/1400 bytes, 7:4:1), in its order. */
static const int imix[12] = {64, 560, 64, 1392, 64, 560, 64, 560, 64, 64, 560, 64};
static const char *len_names[NLEN] = {"64", "512", "1400", "imix"};

static uint8_t buf[B][2048] __attribute__((aligned(64)));
static uint8_t iv[B][16], aad[B][16], tag[B][32];
static uint8_t enc_keys[16 * 15] __attribute__((aligned(16)));
static uint8_t dec_keys[16 * 15] __attribute__((aligned(16)));
static uint8_t ipad[32] __attribute__((aligned(16))), opad[32] __attribute__((aligned(16)));
static struct gcm_key_data gcm_key __attribute__((aligned(64)));
static IMB_JOB jobs[B];
static int lens[B], order[B];

static int longest_first(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return lens[x] != lens[y] ? lens[y] - lens[x] : x - y;
}

static void fill_cbc(IMB_JOB *j, int i, int dec)
{
	cbc_sha1_job(j, buf[i], HEAD, lens[i], dec, enc_keys, dec_keys, iv[i], ipad, opad, tag[i]);
	j->user_data = NULL;
}

static void fill_gcm(IMB_JOB *j, int i, int dec)
{
	gcm_job(j, buf[i], HEAD, lens[i], dec, &gcm_key, iv[i], aad[i], tag[i]);
	j->user_data = NULL;
}

static void check(IMB_JOB *j)
{
	if (j->status != IMB_STATUS_COMPLETED) {
		fprintf(stderr, "job failed: %d\n", j->status);
		exit(1);
	}
}

/* One burst through the job queue; flush: complete it before returning. */
static void queue_burst(IMB_MGR *m, int gcm, int dec, int flush)
{
	for (int k = 0; k < B; k++) {
		IMB_JOB *j = IMB_GET_NEXT_JOB(m);
		if (gcm)
			fill_gcm(j, order[k], dec);
		else
			fill_cbc(j, order[k], dec);
		for (j = IMB_SUBMIT_JOB_NOCHECK(m); j; j = IMB_GET_COMPLETED_JOB(m))
			check(j);
	}
	if (flush)
		for (IMB_JOB *j = IMB_FLUSH_JOB(m); j; j = IMB_FLUSH_JOB(m))
			check(j);
}

static void gcm_direct(IMB_MGR *m, int dec)
{
	struct gcm_context_data ctx;
	for (int i = 0; i < B; i++) {
		uint8_t *p = buf[i] + HEAD;
		if (dec)
			IMB_AES128_GCM_DEC(m, &gcm_key, &ctx, p, p, lens[i], iv[i], aad[i], 8,
					   tag[i], 16);
		else
			IMB_AES128_GCM_ENC(m, &gcm_key, &ctx, p, p, lens[i], iv[i], aad[i], 8,
					   tag[i], 16);
	}
}

static void cbc_sync(IMB_MGR *m, int dec)
{
	for (int k = 0; k < B; k++)
		fill_cbc(&jobs[k], order[k], dec);
	uint32_t a, h;
	if (dec) {
		h = IMB_SUBMIT_HASH_BURST_NOCHECK(m, jobs, B, IMB_AUTH_HMAC_SHA_1);
		a = IMB_SUBMIT_CIPHER_BURST_NOCHECK(m, jobs, B, IMB_CIPHER_CBC, IMB_DIR_DECRYPT,
						    IMB_KEY_128_BYTES);
	} else {
		a = IMB_SUBMIT_CIPHER_BURST_NOCHECK(m, jobs, B, IMB_CIPHER_CBC, IMB_DIR_ENCRYPT,
						    IMB_KEY_128_BYTES);
		h = IMB_SUBMIT_HASH_BURST_NOCHECK(m, jobs, B, IMB_AUTH_HMAC_SHA_1);
	}
	if (a != B || h != B) {
		fprintf(stderr, "burst completed %u and %u of %d\n", a, h, B);
		exit(1);
	}
}

/* ns per packet of variant v (see names below) on lengths li, direction dec. */
static double run(IMB_MGR *m, int gcm, int v, int li, int dec)
{
	int phase = 0;
	double t0 = now();
	for (int r = 0; r < BURSTS; r++) {
		for (int i = 0; i < B; i++) {
			lens[i] = li == 3 ? imix[(phase + i) % 12] : (li == 0 ? 64 : li == 1 ? 512 : 1392);
			order[i] = i;
		}
		phase = (phase + B) % 12;
		/* (as the backend: only a burst of mixed lengths is sorted) */
		if (v == 3 && li == 3)
			qsort(order, B, sizeof(int), longest_first);
		if (v == 0)
			queue_burst(m, gcm, dec, 1);
		else if (gcm)
			gcm_direct(m, dec);
		else if (v == 1)
			queue_burst(m, 0, dec, 0);
		else
			cbc_sync(m, dec);
	}
	for (IMB_JOB *j = IMB_FLUSH_JOB(m); j; j = IMB_FLUSH_JOB(m))
		check(j);
	return (now() - t0) / ((double)BURSTS * B) * 1e9;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	if (rounds < 1 || rounds > 99)
		rounds = 9;
	IMB_MGR *m = alloc_mb_mgr(0);
	if (!m) {
		fprintf(stderr, "alloc_mb_mgr failed\n");
		return 1;
	}
	init_mb_mgr_auto(m, NULL);
	uint8_t key[16] = {1, 2, 3}, block[64];
	IMB_AES_KEYEXP_128(m, key, enc_keys, dec_keys);
	memset(block, 0x36, 64);
	IMB_SHA1_ONE_BLOCK(m, block, ipad);
	memset(block, 0x5c, 64);
	IMB_SHA1_ONE_BLOCK(m, block, opad);
	IMB_AES128_GCM_PRE(m, key, &gcm_key);
	memset(buf, 7, sizeof(buf));
	memset(iv, 1, sizeof(iv));
	memset(aad, 2, sizeof(aad));

	static const char *names[2][NVAR] = {
		{"job queue", "never flushed", "sync burst", "sync, longest first", NULL},
		{"job queue", "direct", NULL, NULL, NULL},
	};
	printf("%-5s %-4s %-5s %-20s %9s %14s\n", "algo", "dir", "len", "variant", "ns/pkt",
	       "ratio to queue");
	for (int gcm = 0; gcm < 2; gcm++)
		for (int dec = 0; dec < 2; dec++)
			for (int li = 0; li < NLEN; li++) {
				int nv = gcm ? 2 : 4;
				double t[NVAR][99], ratio[NVAR][99];
				for (int r = 0; r < rounds; r++)
					for (int v = 0; v < nv; v++) {
						t[v][r] = run(m, gcm, v, li, dec);
						ratio[v][r] = t[v][r] / t[0][r];
					}
				for (int v = 0; v < nv; v++) {
					qsort(t[v], rounds, sizeof(double), cmp_double);
					qsort(ratio[v], rounds, sizeof(double), cmp_double);
					printf("%-5s %-4s %-5s %-20s %9.1f %14.3f\n",
					       gcm ? "gcm" : "cbc", dec ? "dec" : "enc",
					       len_names[li], names[gcm][v], t[v][rounds / 2],
					       ratio[v][rounds / 2]);
				}
			}
	free_mb_mgr(m);
	return 0;
}
