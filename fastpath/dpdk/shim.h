/* Out-of-line wrappers of DPDK 22.11 `static inline` functions, callable from Rust.
 * Every wrapper is named `shim_<original name>` and has the original's semantics. */
#ifndef DPDK_RS_SHIM_H
#define DPDK_RS_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

int shim_rte_errno(void);
unsigned shim_rte_lcore_id(void);
uint64_t shim_rte_rdtsc(void);

uint16_t shim_rte_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t shim_rte_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);

struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp);
int shim_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned n);
void shim_rte_pktmbuf_free(struct rte_mbuf *m);
char *shim_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *shim_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *shim_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int shim_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t shim_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
void *shim_rte_pktmbuf_mtod(struct rte_mbuf *m);
int shim_rte_pktmbuf_is_contiguous(const struct rte_mbuf *m);

unsigned shim_rte_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                     unsigned *free_space);
unsigned shim_rte_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n,
                                     unsigned *available);
unsigned shim_rte_ring_count(const struct rte_ring *r);

#endif
