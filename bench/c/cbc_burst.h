/* One burst of the CBC + HMAC-SHA1 jobs of cbc_job.h and all they read and write, for the
 * benches that run a whole burst per call (mb_arch, mb_mixed_arch): one per program. */
#ifndef BENCH_C_CBC_BURST_H
#define BENCH_C_CBC_BURST_H
#include <string.h>

#include "cbc_job.h"

#define CBC_BURST 64
static uint8_t cbc_buf[CBC_BURST][2048] __attribute__((aligned(64)));
static uint8_t cbc_iv[CBC_BURST][16], cbc_tag[CBC_BURST][32];
static uint8_t cbc_enc_keys[16 * 15] __attribute__((aligned(16)));
static uint8_t cbc_dec_keys[16 * 15] __attribute__((aligned(16)));
static uint8_t cbc_ipad[32] __attribute__((aligned(16))), cbc_opad[32] __attribute__((aligned(16)));
static IMB_JOB cbc_jobs[CBC_BURST];

/* The burst's jobs from zero: job i on cbc_buf[i], `head` bytes then lens[i] ciphered. */
static inline void cbc_burst_fill(int head, const int *lens)
{
	for (int i = 0; i < CBC_BURST; i++) {
		memset(&cbc_jobs[i], 0, sizeof cbc_jobs[i]);
		cbc_sha1_job(&cbc_jobs[i], cbc_buf[i], head, lens[i], 0, cbc_enc_keys, cbc_dec_keys,
			     cbc_iv[i], cbc_ipad, cbc_opad, cbc_tag[i]);
	}
}

/* What the burst functions expect of the jobs they take. */
static inline void cbc_burst_being_processed(void)
{
	for (int i = 0; i < CBC_BURST; i++)
		cbc_jobs[i].status = IMB_STATUS_BEING_PROCESSED;
}
#endif
